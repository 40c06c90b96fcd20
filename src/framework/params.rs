//! The values a route's pattern captured from the path (`{code}` in `/add/{code}.html`).

/// The values captured by `{name}` in a pattern, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Adds the value captured as `name`.
    pub(crate) fn push(&mut self, name: &str, value: String) {
        self.0.push((name.to_string(), value));
    }

    /// The value captured as `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
