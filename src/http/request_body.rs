//! A request's body as the server hands it over: in memory when small, else in a temporary
//! file the server wrote it to as it arrived (nginx's `client_body_buffer_size`), so that a
//! large upload never sits whole in memory. The file has no name on disk (or is deleted as
//! soon as it is closed, where the system cannot do that), so nothing is left behind
//! whatever happens to the request.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

/// The body of a request, complete: the server has read and de-chunked it.
#[derive(Debug, Clone, Default)]
pub struct RequestBody(Held);

#[derive(Debug, Clone, Default)]
enum Held {
    #[default]
    Empty,
    Memory(Vec<u8>),
    /// `len` bytes from the start of an unnamed temporary file.
    File {
        file: Arc<File>,
        len: u64,
    },
}

impl RequestBody {
    /// A body held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> RequestBody {
        RequestBody(if bytes.is_empty() {
            Held::Empty
        } else {
            Held::Memory(bytes)
        })
    }

    /// A body the server wrote to `file` (an unnamed temporary file), `len` bytes from its start.
    pub fn from_file(file: File, len: u64) -> RequestBody {
        RequestBody(Held::File {
            file: Arc::new(file),
            len,
        })
    }

    /// How many bytes it has.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Held::Empty => 0,
            Held::Memory(b) => b.len() as u64,
            Held::File { len, .. } => *len,
        }
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when they are in memory; `None` when the body went to a file.
    pub fn in_memory(&self) -> Option<&[u8]> {
        match &self.0 {
            Held::Empty => Some(&[]),
            Held::Memory(b) => Some(b),
            Held::File { .. } => None,
        }
    }

    /// Whether the server wrote it to a file (it was larger than `body_memory_bytes`).
    pub fn is_spooled(&self) -> bool {
        matches!(self.0, Held::File { .. })
    }

    /// All the bytes: borrowed when in memory, read from the file if they went to one. For a
    /// form or JSON, which are read whole anyway (the body limit bounds them); an upload is
    /// better read with [`RequestBody::reader`].
    pub fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        if let Some(bytes) = self.in_memory() {
            return Ok(Cow::Borrowed(bytes));
        }
        let mut out = Vec::with_capacity(self.len() as usize);
        self.reader().read_to_end(&mut out)?;
        Ok(Cow::Owned(out))
    }

    /// The bytes from the start, as a reader.
    pub fn reader(&self) -> BodyBytes<'_> {
        BodyBytes { body: self, at: 0 }
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> RequestBody {
        RequestBody::from_bytes(bytes)
    }
}

impl From<&str> for RequestBody {
    fn from(text: &str) -> RequestBody {
        RequestBody::from_bytes(text.as_bytes().to_vec())
    }
}

impl From<&[u8]> for RequestBody {
    fn from(bytes: &[u8]) -> RequestBody {
        RequestBody::from_bytes(bytes.to_vec())
    }
}

/// A reader of a request's body from its start, wherever the body is held.
pub struct BodyBytes<'b> {
    body: &'b RequestBody,
    at: u64,
}

impl Read for BodyBytes<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &self.body.0 {
            Held::Empty => 0,
            Held::Memory(bytes) => {
                let rest = &bytes[self.at as usize..];
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                n
            }
            Held::File { file, len } => {
                let left = (len - self.at).min(buf.len() as u64) as usize;
                if left == 0 {
                    return Ok(0);
                }
                // Several readers may share the file: each seeks to its own place first.
                let mut file: &File = file;
                file.seek(SeekFrom::Start(self.at))?;
                file.read(&mut buf[..left])?
            }
        };
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_spooled_body_reads_back_whole_and_a_memory_one_is_at_hand() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"hello, spooled world").unwrap();
        let body = RequestBody::from_file(file, 20);
        assert!(body.is_spooled() && body.in_memory().is_none());
        assert_eq!(&*body.bytes().unwrap(), b"hello, spooled world");
        let mut small = [0u8; 7];
        let mut reader = body.reader();
        assert_eq!(reader.read(&mut small).unwrap(), 7);
        assert_eq!(&small, b"hello, ");
        let memory = RequestBody::from("a=1");
        assert_eq!(memory.in_memory(), Some(&b"a=1"[..]));
        assert_eq!(RequestBody::default().len(), 0);
    }
}
