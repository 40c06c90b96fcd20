//! Finding the numbered migrations and choosing, for each number, the file for the backend:
//! `0001_schema.postgres.sql` on PostgreSQL, `0001_schema.sqlite.sql` on SQLite, else the
//! plain `0001_schema.sql` on both. A number with only another backend's file is skipped.

use std::path::Path;

use super::sql::{Backend, DbError};

/// One numbered migration, ready to run.
pub(super) struct Migration {
    pub number: i64,
    pub name: String,
    pub sql: String,
}

/// One file found: its migration, and the backend it is for (`None`: any).
pub(super) struct Found {
    migration: Migration,
    backend: Option<Backend>,
}

/// The `.sql` files of `dir`, read.
pub(super) fn read_dir(dir: &Path) -> Result<Vec<Found>, DbError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| DbError(format!("migrations folder {}: {e}", dir.display())))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| DbError(format!("migrations folder {}: {e}", dir.display())))?
            .path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !file_name.ends_with(".sql") {
            continue;
        }
        let name = path.display().to_string();
        let number = number_of(file_name).map_err(|_| {
            DbError(format!(
                "migration {name}: name must start with its number, as in 0001_schema.sql"
            ))
        })?;
        let backend = backend_of(file_name);
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| DbError(format!("migration {name}: {e}")))?;
        found.push(Found {
            migration: Migration { number, name, sql },
            backend,
        });
    }
    Ok(found)
}

/// The migrations compiled into the binary, as (file name, SQL) pairs.
pub(super) fn builtin(files: &[(&str, &[u8])]) -> Result<Vec<Found>, DbError> {
    let mut found = Vec::new();
    for (name, bytes) in files {
        let sql = std::str::from_utf8(bytes)
            .map_err(|e| DbError(format!("built-in migration {name}: {e}")))?;
        found.push(Found {
            migration: Migration {
                number: number_of(name)?,
                name: format!("{name} (built in)"),
                sql: sql.to_string(),
            },
            backend: backend_of(name),
        });
    }
    Ok(found)
}

/// The migrations `backend` runs, in order: for each number its own file, else the plain
/// one. Two files for one number and backend refuse to start.
pub(super) fn for_backend(found: Vec<Found>, backend: Backend) -> Result<Vec<Migration>, DbError> {
    let mut chosen: Vec<Found> = Vec::new();
    let mut found: Vec<Found> = found
        .into_iter()
        .filter(|f| f.backend.is_none_or(|b| b == backend))
        .collect();
    // Per number, the backend's own file first.
    found.sort_by_key(|f| (f.migration.number, f.backend.is_none()));
    for f in found {
        match chosen.last() {
            Some(last) if last.migration.number == f.migration.number => {
                if last.backend == f.backend {
                    return Err(DbError(format!(
                        "migrations {} and {} have the same number",
                        last.migration.name, f.migration.name
                    )));
                }
                // A plain file the backend's own replaces.
            }
            _ => chosen.push(f),
        }
    }
    Ok(chosen.into_iter().map(|f| f.migration).collect())
}

/// The number a migration's file name starts with.
fn number_of(name: &str) -> Result<i64, DbError> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<i64>().map_err(|_| {
        DbError(format!(
            "migration {name}: name must start with its number, as in 0001_schema.sql"
        ))
    })
}

/// `.postgres.sql` and `.sqlite.sql` files are for that backend alone.
fn backend_of(name: &str) -> Option<Backend> {
    if name.ends_with(".postgres.sql") {
        Some(Backend::Postgres)
    } else if name.ends_with(".sqlite.sql") {
        Some(Backend::Sqlite)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[&str], backend: Backend) -> Result<Vec<String>, DbError> {
        let pairs: Vec<(&str, &[u8])> = files.iter().map(|f| (*f, &b""[..])).collect();
        Ok(for_backend(builtin(&pairs)?, backend)?
            .into_iter()
            .map(|m| m.name.trim_end_matches(" (built in)").to_string())
            .collect())
    }

    #[test]
    fn each_backend_takes_its_own_file_else_the_plain_one() {
        let files = [
            "0002_seed.sql",
            "0001_schema.postgres.sql",
            "0001_schema.sql",
            "0003_identities.postgres.sql",
            "0004_tidy.sqlite.sql",
        ];
        assert_eq!(
            names(&files, Backend::Sqlite).unwrap(),
            ["0001_schema.sql", "0002_seed.sql", "0004_tidy.sqlite.sql"]
        );
        assert_eq!(
            names(&files, Backend::Postgres).unwrap(),
            [
                "0001_schema.postgres.sql",
                "0002_seed.sql",
                "0003_identities.postgres.sql"
            ]
        );
    }

    #[test]
    fn two_files_for_one_number_and_backend_are_refused() {
        let err = names(&["0001_a.sql", "0001_b.sql"], Backend::Sqlite).unwrap_err();
        assert!(err.0.contains("have the same number"), "{err}");
        let err = names(
            &["0001_a.postgres.sql", "0001_b.postgres.sql"],
            Backend::Postgres,
        )
        .unwrap_err();
        assert!(err.0.contains("0001_a.postgres.sql"), "{err}");
        // Another backend's files never clash with this one's.
        assert!(names(&["0001_a.postgres.sql", "0001_b.sql"], Backend::Sqlite).is_ok());
    }
}
