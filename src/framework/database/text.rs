//! [`Text`]: a text column read without a heap allocation when it is short.
//!
//! Most text in a table row is short: a code, a name, a date. Read as a `String`, each one is
//! an allocation when the row is read and a free when the page is done, a few hundred per page
//! of rows. A [`Text`] of up to [`Text::INLINE`] bytes keeps them in itself, the way Tera keeps
//! its own short strings; longer text goes to the heap as a `String` would.

use std::fmt;
use std::ops::Deref;

use serde::{Serialize, Serializer};

/// Text from a column: inline up to [`Text::INLINE`] bytes, else on the heap.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; Text::INLINE] },
    Heap(Box<str>),
}

impl Text {
    /// Longest text kept inline, in bytes: seven CJK characters, or a date and time.
    pub const INLINE: usize = 22;

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                // Always a whole `&str` copied in `From<&str>`, so always valid UTF-8.
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= Text::INLINE => {
                let mut bytes = [0; Text::INLINE];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Text(Repr::Inline { len, bytes })
            }
            _ => Text(Repr::Heap(s.into())),
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// SQLite: a TEXT column, as `String` reads it (anything else is a type error).
impl rusqlite::types::FromSql for Text {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value.as_str().map(Text::from)
    }
}

/// PostgreSQL: the column types `String` accepts, read as `&str` is.
#[cfg(feature = "postgres")]
impl<'a> ::postgres::types::FromSql<'a> for Text {
    fn from_sql(
        ty: &::postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Text, Box<dyn std::error::Error + Sync + Send>> {
        <&str as ::postgres::types::FromSql>::from_sql(ty, raw).map(Text::from)
    }

    fn accepts(ty: &::postgres::types::Type) -> bool {
        <&str as ::postgres::types::FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::Text;

    #[test]
    fn short_and_long_text_read_back_the_same() {
        let long = "深圳发展银行股份有限公司 Ping An Bank";
        for s in [
            "",
            "000001",
            "平安银行",
            "2017-07-18",
            "一二三四五六七",
            long,
        ] {
            let t = Text::from(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(t.to_string(), s);
            assert_eq!(format!("{t:?}"), format!("{s:?}"));
            assert_eq!(t.clone(), t);
        }
        assert!(matches!(
            Text::from("一二三四五六七").0,
            super::Repr::Inline { .. }
        ));
        assert!(matches!(Text::from(long).0, super::Repr::Heap(_)));
    }

    #[test]
    fn text_reads_a_sqlite_text_column_and_refuses_a_number() {
        let conn = rusqlite::Connection::open_in_memory().expect("in-memory database");
        let read = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, Text>(0));
        assert_eq!(read("SELECT '平安银行'").ok().as_deref(), Some("平安银行"));
        assert!(read("SELECT 42").is_err());
    }
}
