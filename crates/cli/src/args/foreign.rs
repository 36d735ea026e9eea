//! Reading another program's command line (koboldcpp's, `lms load`'s) to translate it into
//! llmrig's: one argument at a time, `--flag=value` split, a flag's value taken inline or from
//! the next argument, and what llmrig does not translate passed on as it came.

/// Another program's arguments, read from the front.
pub struct Foreign<'a> {
    rest: &'a [String],
    next: usize,
}

impl<'a> Foreign<'a> {
    pub fn new(rest: &'a [String]) -> Foreign<'a> {
        Foreign { rest, next: 0 }
    }

    /// The next argument, its flag and its inline value (`--flag=value`; long flags only).
    pub fn next_arg(&mut self) -> Option<(&'a str, &'a str, Option<&'a str>)> {
        let a = self.rest.get(self.next)?.as_str();
        self.next += 1;
        Some(match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (a, f, Some(v)),
            _ => (a, a, None),
        })
    }

    /// A flag's value: its inline one, else the next argument.
    pub fn value(&mut self, inline: Option<&str>) -> Option<String> {
        if let Some(v) = inline {
            return Some(v.to_string());
        }
        let v = self.rest.get(self.next).cloned();
        if v.is_some() {
            self.next += 1;
        }
        v
    }

    /// The arguments that follow while `ok` holds for them.
    pub fn take_while(&mut self, ok: impl Fn(&str) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(v) = self.rest.get(self.next).filter(|v| ok(v)) {
            out.push(v.clone());
            self.next += 1;
        }
        out
    }

    /// `a` as it came, for clap (llmrig's own flags, `--gpu rtx-4090`), with the value that
    /// follows a flag.
    pub fn pass_on(&mut self, a: &str, inline: Option<&str>, out: &mut Vec<String>) {
        out.push(a.to_string());
        if a.starts_with('-') && inline.is_none() {
            if let Some(v) = self.rest.get(self.next).filter(|v| !v.starts_with('-')) {
                out.push(v.clone());
                self.next += 1;
            }
        }
    }
}
