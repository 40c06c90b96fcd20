//! The layers of the settings, each laid over the one before: miniweb's defaults, the app's
//! own defaults, the config file, then `MINIWEB_*` variables; and, for every key, which
//! layer set it, so that a message can name the file or the variable at fault.

use std::collections::HashMap;

/// Every key can also be set by an environment variable: this prefix, then the key in upper
/// case (`MINIWEB_PORT`, `MINIWEB_ACCESS_LOG`). The environment wins over the file.
pub const ENV_PREFIX: &str = "MINIWEB_";

/// Where each setting came from, so that a message names the file or the variable at fault:
/// key -> the layer that set it last (the app's defaults, the file, an environment variable).
#[derive(Default)]
pub(super) struct Origins(HashMap<String, String>);

impl Origins {
    /// The layer that set `key`; miniweb's own defaults when none did.
    pub(super) fn of(&self, key: &str) -> String {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| "built-in defaults".to_string())
    }
}

/// Lays the TOML `text` of the layer `name` over `table`: every key must be one of miniweb's
/// and of its type, so that a misspelt key or a foreign file is refused with the key named.
pub(super) fn overlay(
    table: &mut toml::Table,
    text: &str,
    name: &str,
    origins: &mut Origins,
) -> Result<(), String> {
    let layer: toml::Table =
        toml::from_str(text).map_err(|e| format!("{name}: {}", e.to_string().trim_end()))?;
    for (key, value) in layer {
        let Some(default) = table.get(&key) else {
            return Err(format!(
                "{name}: unknown key `{key}` (is this miniweb's config file? miniweb --help \
                 says how to name another)"
            ));
        };
        if default.type_str() != value.type_str() {
            return Err(format!(
                "{name}: {key} must be {}, got {value}",
                kind(default)
            ));
        }
        origins.0.insert(key.clone(), name.to_string());
        table.insert(key, value);
    }
    Ok(())
}

/// What a value of `like`'s type is called in a message.
fn kind(like: &toml::Value) -> &'static str {
    match like {
        toml::Value::Integer(_) => "a whole number",
        toml::Value::Boolean(_) => "true or false",
        toml::Value::Array(_) => "a list of tables ([[key]])",
        _ => "a string",
    }
}

/// `port` -> `MINIWEB_PORT`.
fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// `table` with every key that a `MINIWEB_*` variable sets replaced by the variable's value,
/// read as the key's type; the keys so set are recorded in `origins`.
pub(super) fn with_env(
    table: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    origins: &mut Origins,
) -> Result<(), String> {
    for (key, value) in table.iter_mut() {
        let var = env_name(key);
        let Some(text) = env(&var) else { continue };
        if value.is_array() {
            return Err(format!(
                "environment variable {var}: {key} is a list of tables; write it in the config \
                 file"
            ));
        }
        let bad = || {
            format!(
                "environment variable {var}: {key} must be {}, got {text:?}",
                kind(value)
            )
        };
        *value = match value {
            toml::Value::Integer(_) => {
                toml::Value::Integer(text.trim().parse().map_err(|_| bad())?)
            }
            toml::Value::Boolean(_) => toml::Value::Boolean(match text.trim() {
                "true" => true,
                "false" => false,
                _ => return Err(bad()),
            }),
            _ => toml::Value::String(text.clone()),
        };
        origins
            .0
            .insert(key.clone(), format!("environment variable {var}"));
    }
    Ok(())
}
