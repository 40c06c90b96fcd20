//! `application/x-www-form-urlencoded` bodies (decoded by `http::decode_pairs`): the fields of a
//! form, looked up by name.

use crate::http::decode_pairs;

use super::error::Error;

/// The fields of a submitted form, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Decodes a urlencoded body (or query string). Invalid UTF-8 is a 400.
    pub fn parse(body: &[u8]) -> Result<Form, Error> {
        decode_pairs(body)
            .map(Form)
            .map_err(|_| Error::BadRequest("A form field is not valid UTF-8.".into()))
    }

    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of field `name`, which the form must have: without it, a 400 that
    /// names the field (Flask's `request.form["name"]`).
    pub fn field(&self, name: &str) -> Result<&str, Error> {
        self.get(name)
            .ok_or_else(|| Error::BadRequest(format!("The form has no field `{name}`.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_field_that_is_missing_is_a_400_naming_it() {
        let f = Form::parse(b"a=1").unwrap();
        assert_eq!(f.field("a").unwrap(), "1");
        let err = f.field("note").unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.public_message(), "The form has no field `note`.");
    }

    #[test]
    fn decodes_plus_percent_and_utf8() {
        let f = Form::parse(b"note=%E5%88%A9%E5%A5%BD+a%2Bb&empty=&flag&x=%27%3B").unwrap();
        assert_eq!(f.get("note"), Some("利好 a+b"));
        assert_eq!(f.get("empty"), Some(""));
        assert_eq!(f.get("flag"), Some(""));
        assert_eq!(f.get("x"), Some("';"));
        assert_eq!(f.get("missing"), None);
    }

    #[test]
    fn invalid_utf8_is_a_bad_request() {
        let err = Form::parse(b"note=%FF").unwrap_err();
        assert_eq!(err.status(), 400);
    }
}
