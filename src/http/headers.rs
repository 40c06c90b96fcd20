//! Header fields as both sides hold them: in order, looked up without regard to case.

/// An ordered list of header fields with case-insensitive lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// The value of the first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the fields named `name`, in the order they arrived.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a field, keeping any others of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Sets a field, replacing every other field of the same name.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.0.push((name, value.into()));
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// All fields in order, as (name, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether the comma-separated field `name` lists `token` (ASCII case-insensitive), as
    /// `Connection: keep-alive, Upgrade` lists `keep-alive`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive() {
        let mut h = Headers::new();
        h.append("Content-Type", "text/plain");
        assert_eq!(h.get("content-type"), Some("text/plain"));
        h.set("CONTENT-TYPE", "text/html");
        assert_eq!(h.get_all("Content-Type").count(), 1);
        assert_eq!(h.get("content-type"), Some("text/html"));
    }

    #[test]
    fn connection_tokens_are_found_in_lists() {
        let mut h = Headers::new();
        h.append("Connection", "Upgrade, Keep-Alive");
        assert!(h.has_token("connection", "keep-alive"));
        assert!(!h.has_token("connection", "close"));
    }
}
