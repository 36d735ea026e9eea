//! Hugging Face listing and Ollama manifests.

use llmrig_formats::remote::{hf_list, hf_open, ollama_model, pick_gguf, RemoteError};
use llmrig_formats::source::CHUNK;
use llmrig_formats::ByteSource;

use crate::{cfg, data, ranged, read_all_at, Reply, Server};

pub(crate) const TREE_PAGE_1: &str = r#"[
  {"type":"file","oid":"a","size":1200,"path":"README.md"},
  {"type":"directory","oid":"b","size":0,"path":"Q8_0"},
  {"type":"file","oid":"c","size":135,"path":"Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
   "lfs":{"oid":"1111","size":491400032,"pointerSize":135}}
]"#;
const TREE_PAGE_2: &str = r#"[
  {"type":"file","oid":"d","size":135,"path":"Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00002-of-00002.gguf",
   "lfs":{"oid":"2222","size":300000000,"pointerSize":135}},
  {"type":"file","oid":"e","size":135,"path":"Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00001-of-00002.gguf",
   "lfs":{"oid":"3333","size":376000000,"pointerSize":135}}
]"#;

fn hub() -> Server {
    Server::start(|r, _| {
        match r.path.as_str() {
        "/api/models/Qwen/Qwen2.5-0.5B-Instruct-GGUF/tree/main?recursive=true" => {
            Reply::json(TREE_PAGE_1).header(
                "Link",
                "</api/models/Qwen/Qwen2.5-0.5B-Instruct-GGUF/tree/main?recursive=true&cursor=Mg>; rel=\"next\"",
            )
        }
        "/api/models/Qwen/Qwen2.5-0.5B-Instruct-GGUF/tree/main?recursive=true&cursor=Mg" => {
            Reply::json(TREE_PAGE_2)
        }
        p if p.starts_with("/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/") => {
            ranged(r, &data(2 * CHUNK), "\"gguf\"")
        }
        _ => Reply::status(404).header("X-Error-Message", "Repository not found"),
    }
    })
}

#[test]
fn hf_listing_follows_pages_and_picks_quant() {
    let srv = hub();
    let c = cfg(&srv.base);
    let files = hf_list("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "main", &c).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00001-of-00002.gguf",
            "Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00002-of-00002.gguf",
            "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
            "README.md"
        ]
    );
    assert_eq!(files[2].size, 491_400_032, "LFS size, not the pointer's");
    assert_eq!(files[2].lfs_sha256.as_deref(), Some("1111"));

    let q8 = pick_gguf(&files, Some("q8_0")).unwrap();
    assert_eq!(q8.len(), 2);
    assert!(q8[0].path.ends_with("-00001-of-00002.gguf"));
    let err = pick_gguf(&files, None).unwrap_err().to_string();
    assert!(
        err.contains("Q4_K_M (468.6 MiB)") && err.contains("Q8_0 (644.7 MiB)"),
        "{err}"
    );
    let err = pick_gguf(&files, Some("IQ2_XS")).unwrap_err().to_string();
    assert!(
        err.contains("no `.gguf` file for quant `IQ2_XS`; available: Q4_K_M"),
        "{err}"
    );

    let mut src = hf_open("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "main", &q8[0].path, &c).unwrap();
    assert_eq!(src.len(), 2 * CHUNK);
    assert_eq!(read_all_at(&mut src, 0, 4), data(4));
    assert_eq!(
        srv.requests().last().unwrap().path,
        "/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/Q8_0/Qwen2.5-0.5B-Instruct-Q8_0-00001-of-00002.gguf"
    );

    let err = hf_list("nobody/nothing", "main", &c).unwrap_err();
    assert!(matches!(err, RemoteError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Hugging Face repo `nobody/nothing`"),
        "{err}"
    );
}

const DIGEST_M: &str = "sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa";
const DIGEST_P: &str = "sha256:ece5e659647a20a5c28ab9eea1c12a1ad430bc0f2a27021d00ad103b3bf5206f";

#[test]
fn ollama_manifest_to_model_blob() {
    let file = data(CHUNK + 1);
    let storage = Server::start(move |r, _| ranged(r, &file, "\"blob\""));
    let storage_url = storage.url("/r2/blob");
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
        "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:00","size":485}},
        "layers":[
          {{"mediaType":"application/vnd.ollama.image.model","digest":"{DIGEST_M}","size":1048577}},
          {{"mediaType":"application/vnd.ollama.image.projector","digest":"{DIGEST_P}","size":600}},
          {{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:11","size":9}}]}}"#
    );
    let registry = Server::start(move |r, _| match r.path.as_str() {
        "/v2/library/tinyllama/manifests/latest" => {
            assert_eq!(
                r.header("accept"),
                Some("application/vnd.docker.distribution.manifest.v2+json")
            );
            Reply::json(&manifest)
        }
        p if p.contains("/blobs/") => Reply::redirect(307, &storage_url),
        _ => Reply::status(404).header("Content-Type", "application/json"),
    });
    let c = cfg(&registry.base);
    let m = ollama_model("tinyllama", &c).unwrap();
    assert_eq!(m.name, "library/tinyllama:latest");
    assert_eq!(
        m.model.url,
        registry.url(&format!("/v2/library/tinyllama/blobs/{DIGEST_M}"))
    );
    assert_eq!(m.model.size, CHUNK + 1);
    let p = m.projector.as_ref().unwrap();
    assert_eq!((p.digest.as_str(), p.size), (DIGEST_P, 600));
    let mut src = m.open(&c).unwrap();
    assert_eq!(src.len(), CHUNK + 1);
    assert_eq!(
        read_all_at(&mut src, CHUNK, 1),
        [data(CHUNK + 1)[CHUNK as usize]]
    );

    let err = ollama_model("ollama:someone/missing:7b", &c).unwrap_err();
    assert!(matches!(err, RemoteError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Ollama model `someone/missing:7b`"),
        "{err}"
    );
}
