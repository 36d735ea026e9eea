//! llama-bench's results, in each of its output formats: `-o json` (one array), `-o jsonl` (one
//! object per line), `-o csv`, and `-o md`, the default table (also as pasted from a terminal,
//! with the log lines around it). Field names follow llama-bench's JSON (`tools/llama-bench/
//! llama-bench.cpp`, `test::get_fields`); the table's short column names (`ngl`, `fa`, `t/s`)
//! are mapped to them.
//!
//! The input is untrusted: the reader takes at most [`MAX_BYTES`], skips lines it does not
//! understand, and fails with a message naming the line only when a row it does recognise is
//! malformed.

use serde_json::Value;

/// Largest results file read, bytes: llama-bench writes a few hundred bytes per test.
pub const MAX_BYTES: usize = 16 << 20;

/// One llama-bench test result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BenchRow {
    /// llama.cpp's description of the model: architecture, size label and file type
    /// (`llama 8B Q4_K - Medium`, `qwen3moe 30B.A3B Q4_K - Medium`).
    pub model_type: String,
    /// The model file as llama-bench was given it (JSON/CSV only).
    pub model_filename: Option<String>,
    /// Weight bytes (the table rounds to 0.01 GiB).
    pub model_size: Option<f64>,
    /// Parameters (the table rounds to 0.01 B).
    pub n_params: Option<f64>,
    /// Backends (`CUDA`, `Metal,BLAS`, `CPU`).
    pub backend: String,
    /// `-ngl`; `None` when not given or llama-bench's auto (-1).
    pub n_gpu_layers: Option<u32>,
    /// `-t`.
    pub n_threads: Option<u32>,
    /// `-b`.
    pub n_batch: Option<u32>,
    /// `-ub`.
    pub n_ubatch: Option<u32>,
    /// `-fa`; `None` when not given or auto (-1).
    pub flash_attn: Option<bool>,
    /// `-ctk`.
    pub type_k: Option<String>,
    /// `-ctv`.
    pub type_v: Option<String>,
    /// `-nkvo`.
    pub no_kv_offload: Option<bool>,
    /// Prompt tokens of the test (`ppN`).
    pub n_prompt: u64,
    /// Generated tokens of the test (`tgN`).
    pub n_gen: u64,
    /// Tokens in the context before the test (`@ dN`).
    pub n_depth: u64,
    /// Mean tokens/s.
    pub avg_ts: f64,
    /// Standard deviation of tokens/s.
    pub stddev_ts: Option<f64>,
    /// When the test ran (ISO 8601, JSON/CSV only).
    pub test_time: Option<String>,
    /// llama.cpp's commit.
    pub build_commit: Option<String>,
    /// llama.cpp's build number (its commit count, the `bNNNN` of its release tags), when the
    /// build knew it: a source tree without git history builds as 1, which says nothing and is
    /// dropped (anything below 1000, before GGUF).
    pub build_number: Option<u32>,
    /// The GPUs llama-bench saw.
    pub gpu_info: Option<String>,
    /// The CPU llama-bench saw.
    pub cpu_info: Option<String>,
}

impl BenchRow {
    /// llama-bench's name for the test: `pp512`, `tg128`, `pp512 @ d4096`.
    #[must_use]
    pub fn test_name(&self) -> String {
        let head = if self.n_gen == 0 {
            format!("pp{}", self.n_prompt)
        } else if self.n_prompt == 0 {
            format!("tg{}", self.n_gen)
        } else {
            format!("pp{}+tg{}", self.n_prompt, self.n_gen)
        };
        if self.n_depth > 0 {
            format!("{head} @ d{}", self.n_depth)
        } else {
            head
        }
    }

    /// The GGUF file type named in `model_type` (`Q4_K_M` for `Q4_K - Medium`, `MXFP4_MOE` for
    /// `MXFP4 MoE`), as llmrig's quant names write it.
    #[must_use]
    pub fn file_type(&self) -> Option<String> {
        // "llama 8B Q4_K - Medium": the architecture, the size label, then the type.
        let mut parts = self.model_type.splitn(3, ' ');
        let (_, _, ty) = (parts.next()?, parts.next()?, parts.next()?);
        let ty = ty.trim();
        let (base, rest) = match ty.split_once(" - ") {
            Some((b, r)) => (b.trim(), r.trim()),
            None => (ty, ""),
        };
        let name = match (base, rest) {
            ("all F32", _) => "F32".to_string(),
            ("MXFP4 MoE", _) => "MXFP4_MOE".to_string(),
            ("IQ3_S mix", _) => "IQ3_M".to_string(),
            // llama.cpp's Q2_K "Medium" is the plain Q2_K mix.
            ("Q2_K", "Medium") => "Q2_K".to_string(),
            (b, "Small") => format!("{b}_S"),
            (b, "Medium") => format!("{b}_M"),
            (b, "Large") => format!("{b}_L"),
            (b, _) => b.to_string(),
        };
        Some(name)
    }

    /// Whether the run used no GPU backend (`CPU`, `BLAS`, `CPU,BLAS`).
    #[must_use]
    pub fn cpu_only(&self) -> bool {
        !self.backend.is_empty()
            && self
                .backend
                .split(',')
                .all(|b| matches!(b.trim().to_ascii_uppercase().as_str(), "CPU" | "BLAS"))
    }

    /// The architecture named in `model_type` (`llama`, `qwen3moe`, `gpt-oss`).
    #[must_use]
    pub fn arch(&self) -> &str {
        self.model_type.split(' ').next().unwrap_or("")
    }
}

/// Why results could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchError {
    /// Larger than [`MAX_BYTES`].
    #[error("the results are {0} bytes; llama-bench output is far smaller (at most {MAX_BYTES} bytes are read)")]
    TooLarge(usize),
    /// A row llmrig recognised but could not read.
    #[error("line {line}: {message}")]
    Row {
        /// 1-based line.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// Nothing in the input looked like llama-bench output.
    #[error("no llama-bench results found: expected the output of `llama-bench` (its default table, or `-o json`, `-o jsonl`, `-o csv`)")]
    Empty,
}

/// Reads llama-bench results in any of its formats; a combined test (`pp512+tg128`) is kept, and
/// the caller decides what to do with it.
///
/// # Errors
/// [`BenchError`] when the input is too large, holds no results, or a recognised row is malformed.
pub fn parse(text: &str) -> Result<Vec<BenchRow>, BenchError> {
    if text.len() > MAX_BYTES {
        return Err(BenchError::TooLarge(text.len()));
    }
    let trimmed = text.trim_start();
    let rows = if trimmed.starts_with('[') {
        parse_json_array(trimmed)?
    } else if text.lines().any(|l| l.trim_start().starts_with('{')) {
        parse_jsonl(text)?
    } else if text.lines().any(|l| l.trim_start().starts_with('|')) {
        parse_table(text)?
    } else {
        parse_csv(text)?
    };
    if rows.is_empty() {
        return Err(BenchError::Empty);
    }
    Ok(rows)
}

fn parse_json_array(text: &str) -> Result<Vec<BenchRow>, BenchError> {
    let v: Value = serde_json::from_str(text).map_err(|e| BenchError::Row {
        line: e.line(),
        message: format!("not valid JSON: {e}"),
    })?;
    let Value::Array(items) = v else {
        return Err(BenchError::Empty);
    };
    items
        .iter()
        .enumerate()
        .map(|(i, o)| {
            from_json(o).map_err(|m| BenchError::Row {
                line: i + 1,
                message: m,
            })
        })
        .collect()
}

fn parse_jsonl(text: &str) -> Result<Vec<BenchRow>, BenchError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if !l.starts_with('{') {
            continue;
        }
        let row = serde_json::from_str::<Value>(l)
            .map_err(|e| format!("not valid JSON: {e}"))
            .and_then(|o| from_json(&o))
            .map_err(|message| BenchError::Row {
                line: i + 1,
                message,
            })?;
        out.push(row);
    }
    Ok(out)
}

/// A JSON value as text, whatever its type (`"1"`, `1`, `true` all read).
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn from_json(o: &Value) -> Result<BenchRow, String> {
    let Value::Object(map) = o else {
        return Err("expected an object".into());
    };
    let fields: Vec<(String, String)> = map
        .iter()
        .filter_map(|(k, v)| json_text(v).map(|t| (k.clone(), t)))
        .collect();
    from_fields(&fields)
}

/// `-o csv`: a header naming llama-bench's JSON fields, then one quoted row per test; lines before
/// the header (a pasted log) are skipped.
fn parse_csv(text: &str) -> Result<Vec<BenchRow>, BenchError> {
    let Some((skipped, header)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("model_type") && l.contains("avg_ts"))
    else {
        return Ok(Vec::new());
    };
    let start = text.find(header).unwrap_or(0);
    let mut rdr = csv::ReaderBuilder::new().from_reader(&text.as_bytes()[start..]);
    let line_of = |pos: Option<&csv::Position>| skipped + pos.map_or(1, |p| p.line() as usize);
    let names: Vec<String> = rdr
        .headers()
        .map_err(|e| BenchError::Row {
            line: line_of(e.position()),
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for record in rdr.records() {
        let record = record.map_err(|e| BenchError::Row {
            line: line_of(e.position()),
            message: e.to_string(),
        })?;
        let fields: Vec<(String, String)> = names
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_string))
            .collect();
        out.push(from_fields(&fields).map_err(|message| BenchError::Row {
            line: line_of(record.position()),
            message,
        })?);
    }
    Ok(out)
}

/// A row from `(field, value)` pairs named as llama-bench's JSON names them.
fn from_fields(fields: &[(String, String)]) -> Result<BenchRow, String> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let num = |k: &str| -> Result<Option<f64>, String> {
        get(k)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or(format!("`{k}` is `{v}`, expected a number"))
            })
            .transpose()
    };
    let count =
        |k: &str| -> Result<Option<u64>, String> { Ok(num(k)?.map(|x| x.min(1e12) as u64)) };
    let small = |k: &str| -> Result<Option<u32>, String> {
        Ok(count(k)?.map(|x| u32::try_from(x).unwrap_or(u32::MAX)))
    };
    // A count where a negative value means "llama-bench's default" (builds since 2025 write
    // `n_gpu_layers: -1` and `flash_attn: -1` for auto).
    let or_auto = |k: &str| -> Result<Option<u32>, String> {
        match get(k) {
            Some(v) if v.starts_with('-') => v
                .parse::<i64>()
                .map(|_| None)
                .map_err(|_| format!("`{k}` is `{v}`, expected a number")),
            _ => small(k),
        }
    };
    let flag = |k: &str| {
        get(k).and_then(|v| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" => Some(true),
            "0" | "false" | "off" | "no" => Some(false),
            _ => None,
        })
    };
    let model_type = get("model_type").ok_or("no `model_type`")?;
    let avg_ts = num("avg_ts")?.ok_or("no `avg_ts` (tokens/s)")?;
    Ok(BenchRow {
        model_type,
        model_filename: get("model_filename"),
        model_size: num("model_size")?,
        n_params: num("model_n_params")?,
        backend: get("backends")
            .or_else(|| get("backend"))
            .unwrap_or_default(),
        n_gpu_layers: or_auto("n_gpu_layers")?,
        n_threads: small("n_threads")?,
        n_batch: small("n_batch")?,
        n_ubatch: small("n_ubatch")?,
        flash_attn: flag("flash_attn"),
        type_k: get("type_k"),
        type_v: get("type_v"),
        no_kv_offload: flag("no_kv_offload"),
        n_prompt: count("n_prompt")?.unwrap_or(0),
        n_gen: count("n_gen")?.unwrap_or(0),
        n_depth: count("n_depth")?.unwrap_or(0),
        avg_ts,
        stddev_ts: num("stddev_ts")?,
        test_time: get("test_time"),
        build_commit: get("build_commit"),
        build_number: small("build_number")?.filter(|&n| n >= 1000),
        gpu_info: get("gpu_info"),
        cpu_info: get("cpu_info"),
    })
}

/// The markdown table (llama-bench's default output), with whatever optional columns the run
/// printed (`threads`, `n_ubatch`, `type_k`, `fa`, `nkvo` …); a `build: abc1234 (5678)` line
/// after it gives the commit.
fn parse_table(text: &str) -> Result<Vec<BenchRow>, BenchError> {
    let mut out: Vec<BenchRow> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut build: Option<(String, Option<u32>)> = None;
    let mut first_of_table = 0;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(b) = l.strip_prefix("build:") {
            let commit = b.split_whitespace().next().unwrap_or("").to_string();
            // `build: 4df6e859e (7349)`.
            let number = b
                .split_once('(')
                .and_then(|(_, n)| n.split_once(')'))
                .and_then(|(n, _)| n.trim().parse::<u32>().ok())
                .filter(|&n| n >= 1000);
            for r in &mut out[first_of_table..] {
                r.build_commit.get_or_insert_with(|| commit.clone());
                if r.build_number.is_none() {
                    r.build_number = number;
                }
            }
            build = Some((commit, number));
            continue;
        }
        if !l.starts_with('|') {
            header = None;
            continue;
        }
        let cells: Vec<String> = l
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
        {
            continue;
        }
        // A header starts a table, also right after another (llama-bench prints one per run).
        if cells.iter().any(|c| c == "model") && cells.iter().any(|c| c == "t/s") {
            header = Some(cells);
            first_of_table = out.len();
            continue;
        }
        let Some(names) = &header else {
            continue;
        };
        let row = table_row(names, &cells).map_err(|message| BenchError::Row {
            line: i + 1,
            message,
        })?;
        out.push(row);
    }
    if let Some((b, number)) = build {
        for r in &mut out {
            r.build_commit.get_or_insert_with(|| b.clone());
            if r.build_number.is_none() {
                r.build_number = number;
            }
        }
    }
    Ok(out)
}

fn table_row(names: &[String], cells: &[String]) -> Result<BenchRow, String> {
    if cells.len() != names.len() {
        return Err(format!(
            "{} cells where the header has {}",
            cells.len(),
            names.len()
        ));
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, v) in names.iter().zip(cells) {
        let key = match name.as_str() {
            "model" => "model_type",
            "backend" => "backends",
            "ngl" => "n_gpu_layers",
            "threads" => "n_threads",
            "fa" => "flash_attn",
            "nkvo" => "no_kv_offload",
            other => other,
        };
        match key {
            "size" => fields.push(("model_size".into(), size_bytes(v)?.to_string())),
            "params" => fields.push(("model_n_params".into(), params(v)?.to_string())),
            "test" => {
                let (p, g, d) = test(v)?;
                fields.push(("n_prompt".into(), p.to_string()));
                fields.push(("n_gen".into(), g.to_string()));
                fields.push(("n_depth".into(), d.to_string()));
            }
            "t/s" => {
                let (mean, sd) = v.split_once('±').unwrap_or((v, ""));
                fields.push(("avg_ts".into(), mean.trim().to_string()));
                fields.push(("stddev_ts".into(), sd.trim().to_string()));
            }
            k => fields.push((k.to_string(), v.clone())),
        }
    }
    from_fields(&fields)
}

/// `4.58 GiB`, `942.43 MiB` → bytes.
fn size_bytes(v: &str) -> Result<f64, String> {
    let (n, unit) = v
        .split_once(' ')
        .ok_or(format!("size `{v}`: expected e.g. `4.58 GiB`"))?;
    let n: f64 = n
        .parse()
        .map_err(|_| format!("size `{v}`: expected a number"))?;
    let scale = match unit.trim() {
        "GiB" => f64::from(1u32 << 30),
        "MiB" => f64::from(1u32 << 20),
        "KiB" => 1024.0,
        "TiB" => f64::from(1u32 << 30) * 1024.0,
        u => return Err(format!("size `{v}`: unknown unit `{u}`")),
    };
    Ok(n * scale)
}

/// `8.03 B`, `999.89 M` → parameters.
fn params(v: &str) -> Result<f64, String> {
    let (n, unit) = v
        .split_once(' ')
        .ok_or(format!("params `{v}`: expected e.g. `8.03 B`"))?;
    let n: f64 = n
        .parse()
        .map_err(|_| format!("params `{v}`: expected a number"))?;
    let scale = match unit.trim() {
        "T" => 1e12,
        "B" => 1e9,
        "M" => 1e6,
        "K" => 1e3,
        u => return Err(format!("params `{v}`: unknown unit `{u}`")),
    };
    Ok(n * scale)
}

/// `pp512`, `tg128`, `pp512+tg128`, `pp512 @ d4096`, `pp 512` → (prompt, gen, depth).
fn test(v: &str) -> Result<(u64, u64, u64), String> {
    let bad = || format!("test `{v}`: expected ppN, tgN or ppN+tgM, optionally `@ dN`");
    let (head, depth) = match v.split_once('@') {
        Some((h, d)) => (
            h.trim(),
            d.trim()
                .strip_prefix('d')
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(bad)?,
        ),
        None => (v.trim(), 0),
    };
    let (mut p, mut g) = (0, 0);
    for part in head.split('+') {
        let part = part.replace(' ', "");
        if let Some(n) = part.strip_prefix("pp") {
            p = n.parse().map_err(|_| bad())?;
        } else if let Some(n) = part.strip_prefix("tg") {
            g = n.parse().map_err(|_| bad())?;
        } else {
            return Err(bad());
        }
    }
    Ok((p, g, depth))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
ggml_cuda_init: found 1 CUDA devices:
  Device 0: NVIDIA H200, compute capability 9.0, VMM: yes
| model                          |       size |     params | backend    | ngl | type_k | type_v |  fa |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | --: | -----: | -----: | --: | --------------: | -------------------: |
| llama 8B Q4_K - Medium         |   4.58 GiB |     8.03 B | CUDA       |  99 |   q8_0 |   q8_0 |   1 |  pp512 @ d16384 |       7042.84 ± 0.00 |
| llama 8B Q4_K - Medium         |   4.58 GiB |     8.03 B | CUDA       |  99 |   q8_0 |   q8_0 |   1 |   tg16 @ d16384 |        156.07 ± 0.00 |

build: 0c1e57098 (1)
";

    #[test]
    fn reads_the_table_with_optional_columns_and_the_build() {
        let rows = parse(TABLE).unwrap();
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.model_type, "llama 8B Q4_K - Medium");
        assert_eq!(r.file_type().as_deref(), Some("Q4_K_M"));
        assert_eq!(r.arch(), "llama");
        assert!((r.model_size.unwrap() - 4.58 * 1073741824.0).abs() < 1.0);
        assert!((r.n_params.unwrap() - 8.03e9).abs() < 1.0);
        assert_eq!((r.n_prompt, r.n_gen, r.n_depth), (512, 0, 16384));
        assert_eq!(r.type_k.as_deref(), Some("q8_0"));
        assert_eq!(r.flash_attn, Some(true));
        assert_eq!(r.n_gpu_layers, Some(99));
        assert!((r.avg_ts - 7042.84).abs() < 1e-9);
        assert_eq!(r.build_commit.as_deref(), Some("0c1e57098"));
        // Built from a tree without git history: llama-bench prints build 1, which says nothing.
        assert_eq!(r.build_number, None);
        let numbered = parse(&TABLE.replace("(1)", "(7349)")).unwrap();
        assert_eq!(numbered[0].build_number, Some(7349));
        assert_eq!(rows[1].test_name(), "tg16 @ d16384");
    }

    #[test]
    fn reads_json_jsonl_and_csv_alike() {
        let json = r#"[{"build_commit":"d0d5b223","model_filename":"m.gguf","model_type":"qwen3moe 30B.A3B Q4_K - Medium","model_size":18556686336,"model_n_params":30532122624,"n_batch":2048,"n_ubatch":512,"n_threads":8,"type_k":"f16","type_v":"f16","n_gpu_layers":99,"flash_attn":false,"n_prompt":0,"n_gen":128,"n_depth":0,"test_time":"2025-04-07T10:00:00Z","avg_ts":91.8,"stddev_ts":0.2,"backends":"ROCm"}]"#;
        let a = parse(json).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].test_name(), "tg128");
        assert_eq!(a[0].flash_attn, Some(false));
        assert_eq!(a[0].test_time.as_deref(), Some("2025-04-07T10:00:00Z"));
        let jsonl = format!("some log line\n{}\n", &json[1..json.len() - 1]);
        assert_eq!(parse(&jsonl).unwrap(), a);
        let csv = "build_commit,model_filename,model_type,model_size,model_n_params,n_batch,n_ubatch,n_threads,type_k,type_v,n_gpu_layers,flash_attn,n_prompt,n_gen,n_depth,test_time,avg_ts,stddev_ts,backends\n\"d0d5b223\",\"m.gguf\",\"qwen3moe 30B.A3B Q4_K - Medium\",\"18556686336\",\"30532122624\",\"2048\",\"512\",\"8\",\"f16\",\"f16\",\"99\",\"0\",\"0\",\"128\",\"0\",\"2025-04-07T10:00:00Z\",\"91.8\",\"0.2\",\"ROCm\"\n";
        assert_eq!(parse(csv).unwrap(), a);
    }

    #[test]
    fn file_type_names() {
        let t = |m: &str| {
            BenchRow {
                model_type: m.into(),
                ..BenchRow::default()
            }
            .file_type()
        };
        assert_eq!(t("llama 7B Q4_0").as_deref(), Some("Q4_0"));
        assert_eq!(t("llama 8B F16").as_deref(), Some("F16"));
        assert_eq!(t("llama 8B all F32").as_deref(), Some("F32"));
        assert_eq!(t("llama 8B Q2_K - Medium").as_deref(), Some("Q2_K"));
        assert_eq!(t("llama 8B Q3_K - Large").as_deref(), Some("Q3_K_L"));
        assert_eq!(t("gpt-oss 20B MXFP4 MoE").as_deref(), Some("MXFP4_MOE"));
        assert_eq!(t("llama 8B IQ4_XS - 4.25 bpw").as_deref(), Some("IQ4_XS"));
        assert_eq!(t("llama"), None);
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(parse("hello\nworld\n"), Err(BenchError::Empty));
        let e = parse("[{\"model_type\":\"llama 8B F16\"}]").unwrap_err();
        assert!(e.to_string().contains("avg_ts"), "{e}");
        let bad = TABLE.replace("7042.84 ± 0.00", "fast");
        let e = parse(&bad).unwrap_err();
        assert!(e.to_string().starts_with("line 5:"), "{e}");
        assert!(matches!(
            parse(&"x".repeat(MAX_BYTES + 1)),
            Err(BenchError::TooLarge(_))
        ));
    }
}
