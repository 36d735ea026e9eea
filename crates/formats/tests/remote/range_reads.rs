//! Range reads: whole aligned chunks, progress reports, small and empty files.

use std::sync::{Arc, Mutex};

use llmrig_formats::remote::{open_url, Progress, RemoteConfig, Transfer};
use llmrig_formats::source::{Cursor, CHUNK};
use llmrig_formats::ByteSource;

use crate::{cfg, data, ranged, read_all_at, Server};

#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, u64, bool)>>);

impl Progress for Recorder {
    fn update(&self, t: &Transfer<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((t.done_bytes, t.total_bytes, t.finished));
    }
}

#[test]
fn range_reads_fetch_whole_aligned_chunks() {
    let file = data(3 * CHUNK + 5);
    let f2 = file.clone();
    let srv = Server::start(move |r, _| ranged(r, &f2, "\"e1\""));
    let progress = Arc::new(Recorder::default());
    let c = RemoteConfig {
        progress: Some(progress.clone()),
        ..cfg(&srv.base)
    };
    let mut src = open_url(&srv.url("/m.gguf"), &c).unwrap();
    assert_eq!(src.len(), 3 * CHUNK + 5);
    assert_eq!(src.etag(), Some("\"e1\""));
    {
        let mut cur = Cursor::new(&mut src);
        cur.skip(CHUNK - 3).unwrap();
        let got = cur.take(10, <[u8]>::to_vec).unwrap();
        assert_eq!(got, file[(CHUNK - 3) as usize..(CHUNK + 7) as usize]);
    }
    // Chunk 0 came with the open; chunk 1 needed one more request.
    assert_eq!(src.bytes_fetched(), 2 * CHUNK);
    let ranges: Vec<String> = srv
        .requests()
        .iter()
        .map(|r| r.header("range").unwrap().to_string())
        .collect();
    assert_eq!(ranges, ["bytes=0-1048575", "bytes=1048576-2097151"]);
    // The last, short chunk.
    assert_eq!(
        read_all_at(&mut src, 3 * CHUNK + 2, 100),
        file[(3 * CHUNK + 2) as usize..]
    );
    assert_eq!(
        srv.requests()[2].header("range"),
        Some("bytes=3145728-3145732")
    );
    assert!(read_all_at(&mut src, 3 * CHUNK + 5, 10).is_empty());
    let events = progress.0.lock().unwrap();
    assert!(events.contains(&(CHUNK, CHUNK, true)), "{:?}", &events[..3]);
    assert!(events.iter().all(|(d, t, _)| d <= t));
}

#[test]
fn small_and_empty_files() {
    let srv = Server::start(|r, _| match r.path.as_str() {
        "/small" => ranged(r, &data(100), "\"s\""),
        _ => ranged(r, &[], "\"e\""),
    });
    let c = cfg(&srv.base);
    let mut s = open_url(&srv.url("/small"), &c).unwrap();
    assert_eq!(s.len(), 100);
    assert_eq!(read_all_at(&mut s, 90, 50), data(100)[90..]);
    assert_eq!(s.bytes_fetched(), 100);
    let e = open_url(&srv.url("/empty"), &c).unwrap();
    assert_eq!(e.len(), 0);
    assert_eq!(srv.count(), 2);
}
