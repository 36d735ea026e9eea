//! `.llamafile`: one executable holding llamafile's server and the model. It is an Actually
//! Portable Executable (a shell script, PE and ELF headers in one) with a zip archive appended
//! whose members are the model's GGUF, *stored* (method 0, not compressed) and aligned so llamafile
//! maps it in place, and usually an `.args` member with the default command-line arguments
//! (Mozilla-Ocho/llamafile README, "Creating llamafiles"; its `zipalign` tool).
//!
//! The GGUF is found the way any zip reader finds a member: the end-of-central-directory record
//! at the tail (and its ZIP64 form for archives past 4 GiB), the central directory, then the
//! member's local header, whose end is where the GGUF's bytes begin (PKWARE APPNOTE.TXT 6.3.10,
//! sections 4.3.6–4.3.16 and 4.5.3). Only the tail, the directory and one local header are read,
//! so over HTTP it costs a few range requests. Every offset and length is checked against the
//! file's size before it is used.

use crate::source::{ByteSource, SourceError};

/// A member of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name in the archive (`Llama-3.2-1B-Instruct.Q6_K.gguf`).
    pub name: String,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// Its length in bytes.
    pub size: u64,
}

/// What a `.llamafile` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Llamafile {
    /// The model GGUF (the largest stored `.gguf` that is not a multimodal projector).
    pub gguf: Member,
    /// A multimodal projector stored beside it, if any.
    pub mmproj: Option<Member>,
    /// The default arguments from the `.args` member, one per line, without llamafile's `...`
    /// placeholder for the user's own arguments.
    pub args: Vec<String>,
}

/// Reading a `.llamafile` failed.
#[derive(Debug, thiserror::Error)]
pub enum LlamafileError {
    /// The bytes could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The file is not a llamafile llmrig can read.
    #[error("`{file}`: {what} (expected a .llamafile: an executable with a zip archive appended that stores a .gguf model)")]
    Bad {
        /// The file.
        file: String,
        /// What is wrong.
        what: String,
    },
}

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
/// The end record is 22 bytes and may carry a comment of up to 65,535 bytes.
const EOCD_LEN: usize = 22;
const TAIL: u64 = (EOCD_LEN + 0xFFFF) as u64;
/// A central directory larger than this is not a llamafile's (a few members).
const MAX_DIRECTORY: u64 = 16 << 20;
/// An `.args` member larger than this is not a list of arguments.
const MAX_ARGS: u64 = 64 << 10;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// One central-directory entry, with its ZIP64 fields resolved.
struct Entry {
    name: String,
    method: u16,
    size: u64,
    local: u64,
}

/// Reads the archive's directory and finds the model in it.
///
/// # Errors
/// [`LlamafileError`] naming the file and what is missing or out of bounds.
pub fn read(src: &mut dyn ByteSource) -> Result<Llamafile, LlamafileError> {
    let file = src.name();
    let bad = |what: String| LlamafileError::Bad {
        file: file.clone(),
        what,
    };
    let len = src.len();
    let tail_start = len.saturating_sub(TAIL);
    let tail = src.read_at(tail_start, usize::try_from(len - tail_start).unwrap_or(0))?;
    // The end record: the last signature whose comment ends within the file.
    let eocd = (0..=tail.len().saturating_sub(EOCD_LEN))
        .rev()
        .find(|&i| {
            u32_at(&tail, i) == Some(EOCD_SIG)
                && u16_at(&tail, i + 20)
                    .is_some_and(|c| i + EOCD_LEN + usize::from(c) <= tail.len())
        })
        .ok_or_else(|| {
            bad("no zip archive at its end (no end-of-central-directory record)".into())
        })?;
    let eocd_pos = tail_start + eocd as u64;
    let field = |at: usize| u32_at(&tail, eocd + at).unwrap_or(0);
    let (mut cd_size, mut cd_offset, mut end_of_cd) =
        (u64::from(field(12)), u64::from(field(16)), eocd_pos);
    // ZIP64: the locator sits just before the end record and points at the ZIP64 end record.
    if eocd >= 20 && u32_at(&tail, eocd - 20) == Some(ZIP64_LOCATOR_SIG) {
        let at = u64_at(&tail, eocd - 20 + 8).unwrap_or(u64::MAX);
        if at.checked_add(56).is_none_or(|e| e > eocd_pos) {
            return Err(bad(format!(
                "its ZIP64 end record is said to be at byte {at}, past the archive's end"
            )));
        }
        let rec = src.read_at(at, 56)?;
        if u32_at(&rec, 0) != Some(ZIP64_EOCD_SIG) {
            return Err(bad(format!("no ZIP64 end record at byte {at}")));
        }
        cd_size = u64_at(&rec, 40).unwrap_or(u64::MAX);
        cd_offset = u64_at(&rec, 48).unwrap_or(u64::MAX);
        end_of_cd = at;
    }
    if cd_size > MAX_DIRECTORY || cd_size > end_of_cd {
        return Err(bad(format!(
            "its central directory is said to be {cd_size} bytes (expected at most {MAX_DIRECTORY} before byte {end_of_cd})"
        )));
    }
    // Offsets in an archive appended to an executable may count from the archive's own start
    // (a plain `cat`) rather than the file's (llamafile's zipalign): where the directory really
    // is, immediately before its end record, says which.
    let actual = end_of_cd - cd_size;
    let delta = actual.wrapping_sub(cd_offset);
    let dir = src.read_at(actual, usize::try_from(cd_size).unwrap_or(0))?;
    let entries = directory(&dir).map_err(|w| bad(w.to_string()))?;
    let is_gguf = |e: &&Entry| e.name.to_ascii_lowercase().ends_with(".gguf");
    let is_mmproj = |e: &&Entry| e.name.to_ascii_lowercase().contains("mmproj");
    let model = entries
        .iter()
        .filter(is_gguf)
        .filter(|e| !is_mmproj(e))
        .max_by_key(|e| e.size)
        .ok_or_else(|| {
            bad(format!(
                "its archive holds no .gguf model ({} members: {})",
                entries.len(),
                entries
                    .iter()
                    .take(8)
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let gguf = member(src, model, delta, len).map_err(bad)?;
    let mmproj = entries
        .iter()
        .filter(is_gguf)
        .find(is_mmproj)
        .and_then(|e| member(src, e, delta, len).ok());
    let mut args = Vec::new();
    if let Some(e) = entries.iter().find(|e| e.name == ".args") {
        if let Ok(m) = member(src, e, delta, len) {
            if m.size <= MAX_ARGS {
                let text = src.read_at(m.offset, usize::try_from(m.size).unwrap_or(0))?;
                args = String::from_utf8_lossy(&text)
                    .lines()
                    .map(str::trim)
                    .filter(|a| !a.is_empty() && *a != "...")
                    .map(str::to_string)
                    .collect();
            }
        }
    }
    Ok(Llamafile { gguf, mmproj, args })
}

/// The entries of a central directory.
fn directory(dir: &[u8]) -> Result<Vec<Entry>, &'static str> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 46 <= dir.len() {
        if u32_at(dir, at) != Some(CENTRAL_SIG) {
            return Err("its central directory is damaged (an entry without its signature)");
        }
        let h = |o: usize| u16_at(dir, at + o).map_or(0, usize::from);
        let method = u16_at(dir, at + 10).unwrap_or(u16::MAX);
        let (name_len, extra_len, comment_len) = (h(28), h(30), h(32));
        let name_end = at + 46 + name_len;
        let extra_end = name_end + extra_len;
        if extra_end + comment_len > dir.len() {
            return Err("its central directory is truncated (an entry runs past its end)");
        }
        let name = String::from_utf8_lossy(&dir[at + 46..name_end]).into_owned();
        let mut size = u64::from(u32_at(dir, at + 20).unwrap_or(0));
        let mut uncompressed = u64::from(u32_at(dir, at + 24).unwrap_or(0));
        let mut local = u64::from(u32_at(dir, at + 42).unwrap_or(0));
        // ZIP64 extended information (header 0x0001): the 8-byte values of the fields whose
        // 4-byte forms are all ones, in the order uncompressed, compressed, local offset.
        let mut e = name_end;
        while e + 4 <= extra_end {
            let (id, n) = (h(e - at), h(e + 2 - at));
            let body = e + 4;
            if body + n > extra_end {
                break;
            }
            if id == 1 {
                let mut p = body;
                let mut next = |v: &mut u64| {
                    if *v == 0xFFFF_FFFF && p + 8 <= body + n {
                        *v = u64_at(dir, p).unwrap_or(u64::MAX);
                        p += 8;
                    }
                };
                next(&mut uncompressed);
                next(&mut size);
                next(&mut local);
            }
            e = body + n;
        }
        out.push(Entry {
            name,
            method,
            size,
            local,
        });
        at = extra_end + comment_len;
    }
    Ok(out)
}

/// Where a stored member's bytes are, from its local header.
fn member(src: &mut dyn ByteSource, e: &Entry, delta: u64, len: u64) -> Result<Member, String> {
    if e.method != 0 {
        return Err(format!(
            "`{}` is compressed (zip method {}); llamafile stores its model uncompressed so it can map it",
            e.name, e.method
        ));
    }
    let at = e.local.wrapping_add(delta);
    if at.checked_add(30).is_none_or(|end| end > len) {
        return Err(format!(
            "`{}`'s local header is said to be at byte {at}, past the file's end ({len} bytes)",
            e.name
        ));
    }
    let head = src.read_at(at, 30).map_err(|x| x.to_string())?;
    if u32_at(&head, 0) != Some(LOCAL_SIG) {
        return Err(format!("no local header for `{}` at byte {at}", e.name));
    }
    let n = u64::from(u16_at(&head, 26).unwrap_or(0)) + u64::from(u16_at(&head, 28).unwrap_or(0));
    let offset = at + 30 + n;
    if offset.checked_add(e.size).is_none_or(|end| end > len) {
        return Err(format!(
            "`{}` ({} bytes from byte {offset}) runs past the file's end ({len} bytes)",
            e.name, e.size
        ));
    }
    Ok(Member {
        name: e.name.clone(),
        offset,
        size: e.size,
    })
}

/// Whether `name` is a llamafile by its extension.
#[must_use]
pub fn is_llamafile_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".llamafile")
}

#[cfg(test)]
mod tests;
