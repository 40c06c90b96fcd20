//! The stock site's own files compiled into the binary (see `build.rs`): used when the configured
//! folders do not exist, so that `miniweb 8080` runs from any folder. Folders on disk win, so
//! that a site stays editable without a rebuild.

/// Files as (path relative to their folder, with `/`; bytes).
pub type Files = &'static [(&'static str, &'static [u8])];

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_compiled_in() {
        let names = |files: Files| files.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        assert!(names(STATIC).contains(&"css/site.css"));
        assert!(names(TEMPLATES).contains(&"base.html"));
        assert_eq!(
            names(MIGRATIONS),
            [
                "0001_schema.postgres.sql",
                "0001_schema.sql",
                "0002_seed.sql",
                "0003_identities.postgres.sql"
            ]
        );
        let css = STATIC.iter().find(|(n, _)| *n == "css/site.css").unwrap().1;
        assert_eq!(css, std::fs::read("static/css/site.css").unwrap());
    }
}
