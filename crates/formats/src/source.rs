//! Byte sources: random-access reads of a file, local or remote. Readers pull bytes through
//! [`Cursor`], which fetches aligned chunks so a remote header read costs whole chunks only.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Reading bytes failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// An I/O error on a local file.
    #[error("cannot read `{path}`")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The source ended before the bytes a reader needed.
    #[error("`{name}` ends at byte {len}, but {needed} bytes at offset {offset} were needed (truncated file?)")]
    Truncated {
        /// The source.
        name: String,
        /// Its length.
        len: u64,
        /// Where the read started.
        offset: u64,
        /// How many bytes were needed.
        needed: u64,
    },
    /// A remote read failed (HTTP status, network, time-out).
    #[error("{0}")]
    Remote(String),
    /// An HTTP range read failed; the error names the file and the failure.
    #[error(transparent)]
    Http(Box<crate::remote::RemoteError>),
}

impl From<crate::remote::RemoteError> for SourceError {
    fn from(e: crate::remote::RemoteError) -> SourceError {
        SourceError::Http(Box::new(e))
    }
}

/// Random access to the bytes of one file.
pub trait ByteSource {
    /// A name for messages (path or URL).
    fn name(&self) -> String;
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads `len` bytes at `offset` into a new buffer; fewer only at the end of the source.
    ///
    /// # Errors
    /// [`SourceError`] when the bytes cannot be read.
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError>;
    /// Bytes fetched so far (for remote sources: transferred over the network).
    fn bytes_fetched(&self) -> u64;
}

/// A local file.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    file: File,
    len: u64,
    fetched: u64,
}

impl FileSource {
    /// Opens a file for reading.
    ///
    /// # Errors
    /// [`SourceError::Io`] naming the path.
    pub fn open(path: &Path) -> Result<FileSource, SourceError> {
        let io = |source| SourceError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        Ok(FileSource {
            path: path.to_path_buf(),
            file,
            len,
            fetched: 0,
        })
    }
}

impl ByteSource for FileSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let io = |source| SourceError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let available = self.len.saturating_sub(offset);
        let n = usize::try_from(available).unwrap_or(usize::MAX).min(len);
        let mut buf = vec![0u8; n];
        self.file.seek(SeekFrom::Start(offset)).map_err(io)?;
        self.file.read_exact(&mut buf).map_err(io)?;
        self.fetched += n as u64;
        Ok(buf)
    }
    fn bytes_fetched(&self) -> u64 {
        self.fetched
    }
}

/// Bytes in memory, as a source (tests, fuzzing, data already fetched).
#[derive(Debug, Clone, Default)]
pub struct MemSource {
    /// A name for messages.
    pub name: String,
    /// The bytes.
    pub data: Vec<u8>,
    fetched: u64,
}

impl MemSource {
    /// A source over `data` named `name`.
    #[must_use]
    pub fn new(name: &str, data: Vec<u8>) -> MemSource {
        MemSource {
            name: name.to_string(),
            data,
            fetched: 0,
        }
    }
}

impl ByteSource for MemSource {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let a = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        let b = a.saturating_add(len).min(self.data.len());
        self.fetched += (b - a) as u64;
        Ok(self.data[a..b].to_vec())
    }
    fn bytes_fetched(&self) -> u64 {
        self.fetched
    }
}

/// A window of another source: bytes `start..start + len` of `inner`, seen as a file of their
/// own (the GGUF stored inside a `.llamafile`'s zip).
pub struct Slice {
    inner: Box<dyn ByteSource>,
    start: u64,
    len: u64,
    label: String,
}

impl Slice {
    /// The window `start..start + len` of `inner`, named `label` in messages. The window is
    /// clamped to `inner`'s length.
    #[must_use]
    pub fn new(inner: Box<dyn ByteSource>, start: u64, len: u64, label: String) -> Slice {
        let start = start.min(inner.len());
        let len = len.min(inner.len() - start);
        Slice {
            inner,
            start,
            len,
            label,
        }
    }
}

impl ByteSource for Slice {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let offset = offset.min(self.len);
        let n = usize::try_from(self.len - offset)
            .unwrap_or(usize::MAX)
            .min(len);
        self.inner.read_at(self.start + offset, n)
    }
    fn bytes_fetched(&self) -> u64 {
        self.inner.bytes_fetched()
    }
}

/// Chunk size of [`Cursor`] reads: 1 MiB, so a remote header read transfers the header rounded up
/// to the next MiB.
pub const CHUNK: u64 = 1 << 20;

/// Sequential reading over a [`ByteSource`] in aligned chunks.
pub struct Cursor<'a> {
    src: &'a mut dyn ByteSource,
    chunk_start: u64,
    chunk: Vec<u8>,
    pos: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at offset 0.
    pub fn new(src: &'a mut dyn ByteSource) -> Cursor<'a> {
        Cursor {
            src,
            chunk_start: 0,
            chunk: Vec::new(),
            pos: 0,
        }
    }

    /// Current offset.
    #[must_use]
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Length of the source.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.src.len()
    }

    /// Whether the source is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }

    /// Name of the source.
    #[must_use]
    pub fn name(&self) -> String {
        self.src.name()
    }

    fn truncated(&self, needed: u64) -> SourceError {
        SourceError::Truncated {
            name: self.src.name(),
            len: self.src.len(),
            offset: self.pos,
            needed,
        }
    }

    /// Moves forward `n` bytes without reading them (checked against the length).
    ///
    /// # Errors
    /// [`SourceError::Truncated`] when that passes the end.
    pub fn skip(&mut self, n: u64) -> Result<(), SourceError> {
        match self.pos.checked_add(n) {
            Some(p) if p <= self.src.len() => {
                self.pos = p;
                Ok(())
            }
            _ => Err(self.truncated(n)),
        }
    }

    /// Calls `f` with the next `n` bytes (which must be available), then advances. `n` is bounded by
    /// the caller; large `n` spanning chunks is assembled into one buffer.
    ///
    /// # Errors
    /// [`SourceError`] when the bytes are not there.
    pub fn take<T>(&mut self, n: usize, f: impl FnOnce(&[u8]) -> T) -> Result<T, SourceError> {
        let end = self
            .pos
            .checked_add(n as u64)
            .ok_or_else(|| self.truncated(n as u64))?;
        if end > self.src.len() {
            return Err(self.truncated(n as u64));
        }
        let chunk_end = self.chunk_start + self.chunk.len() as u64;
        if self.pos >= self.chunk_start && end <= chunk_end {
            let a = usize::try_from(self.pos - self.chunk_start).unwrap_or(0);
            let out = f(&self.chunk[a..a + n]);
            self.pos = end;
            return Ok(out);
        }
        // Assemble from aligned chunks.
        let mut buf = Vec::with_capacity(n);
        let mut p = self.pos;
        while p < end {
            let start = p / CHUNK * CHUNK;
            if start != self.chunk_start || self.chunk.is_empty() {
                let want = usize::try_from(CHUNK).unwrap_or(usize::MAX);
                self.chunk = self.src.read_at(start, want)?;
                self.chunk_start = start;
            }
            let chunk_end = self.chunk_start + self.chunk.len() as u64;
            if chunk_end <= p {
                return Err(self.truncated(n as u64));
            }
            let a = usize::try_from(p - self.chunk_start).unwrap_or(0);
            let b = usize::try_from(end.min(chunk_end) - self.chunk_start).unwrap_or(0);
            buf.extend_from_slice(&self.chunk[a..b]);
            p = self.chunk_start + b as u64;
        }
        self.pos = end;
        Ok(f(&buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reads_across_chunks_and_fetches_whole_chunks() {
        let data: Vec<u8> = (0..3 * CHUNK + 5).map(|i| (i % 251) as u8).collect();
        let mut m = MemSource::new("mem", data.clone());
        let mut c = Cursor::new(&mut m);
        c.skip(CHUNK - 3).unwrap();
        let got = c.take(10, <[u8]>::to_vec).unwrap();
        assert_eq!(got, data[(CHUNK - 3) as usize..(CHUNK + 7) as usize]);
        assert!(c.take(usize::MAX, |_| ()).is_err());
        assert!(c.skip(u64::MAX).is_err());
        drop(c);
        assert_eq!(m.bytes_fetched(), 2 * CHUNK);
    }
}
