//! ggml-alloc's graph allocator, replayed: `ggml_gallocr_alloc_graph_impl` and the dynamic
//! allocator under it (`ggml_dyn_tallocr`, ggml/src/ggml-alloc.c).
//!
//! The rules that decide the buffer size:
//! - graph inputs (leafs) are allocated first, in the graph's leaf order, and never freed before
//!   their last consumer ran; an input nobody consumes is never freed;
//! - a node is allocated just before it runs. An op that may run in place (`ggml_op_can_inplace`)
//!   takes over the memory of its first source that is owned by the allocator, is not a graph
//!   output, has the same layout and has no other consumer left; a larger source's tail is freed;
//! - a tensor is freed once its last consumer ran (a view's source once its last view's consumer
//!   ran); graph outputs are never freed;
//! - the free list is kept sorted by offset, neighbours merge; an allocation takes the smallest
//!   free block that fits (the later one on a tie) among all but the last block, else the last
//!   block, which extends to the end of the buffer;
//! - the buffer's size is the highest end offset ever allocated.

use super::ir::{Graph, Kind, NONE};

/// CPU buffer alignment (`TENSOR_ALIGNMENT`, ggml/src/ggml-impl.h).
const ALIGN: u64 = 32;

fn aligned(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// The free list of one buffer. The last block is the unbounded tail.
struct DynAlloc {
    /// (offset, size), sorted by offset.
    blocks: Vec<(u64, u64)>,
    max: u64,
}

impl DynAlloc {
    fn new() -> DynAlloc {
        DynAlloc {
            blocks: vec![(0, u64::MAX / 2)],
            max: 0,
        }
    }

    fn alloc(&mut self, size: u64) -> u64 {
        let size = aligned(size);
        let mut best = None;
        let mut best_size = u64::MAX;
        for (i, &(_, bs)) in self.blocks[..self.blocks.len() - 1].iter().enumerate() {
            if bs >= size && bs <= best_size {
                best = Some(i);
                best_size = bs;
            }
        }
        let i = best.unwrap_or(self.blocks.len() - 1);
        let off = self.blocks[i].0;
        self.blocks[i].0 += size;
        self.blocks[i].1 -= size;
        if self.blocks[i].1 == 0 {
            self.blocks.remove(i);
        }
        self.max = self.max.max(off + size);
        off
    }

    fn free(&mut self, off: u64, size: u64) {
        let size = aligned(size);
        let n = self.blocks.len();
        for i in 0..n {
            let (bo, bs) = self.blocks[i];
            if bo + bs == off {
                self.blocks[i].1 += size;
                if i + 1 < self.blocks.len() {
                    let (no, ns) = self.blocks[i + 1];
                    if bo + self.blocks[i].1 == no {
                        self.blocks[i].1 += ns;
                        self.blocks.remove(i + 1);
                    }
                }
                return;
            }
            if off + size == bo {
                self.blocks[i].0 = off;
                self.blocks[i].1 += size;
                if i > 0 {
                    let (po, ps) = self.blocks[i - 1];
                    if po + ps == off {
                        self.blocks[i - 1].1 += self.blocks[i].1;
                        self.blocks.remove(i);
                    }
                }
                return;
            }
        }
        let at = self.blocks.partition_point(|&(o, _)| o < off);
        self.blocks.insert(at, (off, size));
    }
}

/// One allocation event, for comparing with a `GGML_ALLOCATOR_DEBUG` trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Tensor id, bytes, offset.
    Alloc(usize, u64, u64),
    /// Tensor id reused the memory of another.
    Reuse(usize, usize),
    /// Tensor id, bytes, offset.
    Free(usize, u64, u64),
}

/// Replays the allocation of `g`; returns the buffer size and, when `trace`, the events.
pub fn simulate(g: &Graph, mut trace: Option<&mut Vec<Event>>) -> u64 {
    let n = g.tensors.len();
    let mut children = vec![0u32; n];
    let mut views = vec![0u32; n];
    let mut own = vec![false; n];
    let mut addr = vec![0u64; n];
    for &id in &g.nodes {
        let t = &g.tensors[id];
        if let Kind::View(root) = t.kind {
            views[root] += 1;
        }
        for &s in t.srcs.iter().take_while(|&&s| s != NONE) {
            children[s] += 1;
        }
    }
    let mut a = DynAlloc::new();
    let place = |id: usize,
                 own: &mut Vec<bool>,
                 addr: &mut Vec<u64>,
                 children: &[u32],
                 views: &[u32],
                 a: &mut DynAlloc,
                 trace: &mut Option<&mut Vec<Event>>| {
        let t = &g.tensors[id];
        if own[id] || !matches!(t.kind, Kind::Op | Kind::Input) {
            return;
        }
        own[id] = true;
        if t.inplace {
            for &p in t.srcs.iter().take_while(|&&s| s != NONE) {
                let pt = &g.tensors[p];
                if !own[p] || pt.output || pt.ne != t.ne || pt.esize != t.esize {
                    continue;
                }
                if children[p] == 1 && views[p] == 0 {
                    addr[id] = addr[p];
                    own[p] = false;
                    let (ps, ns) = (aligned(pt.bytes()), aligned(t.bytes()));
                    if ps > ns {
                        a.free(addr[p] + ns, ps - ns);
                    }
                    if let Some(tr) = trace.as_deref_mut() {
                        tr.push(Event::Reuse(id, p));
                    }
                    return;
                }
            }
        }
        addr[id] = a.alloc(t.bytes());
        if let Some(tr) = trace.as_deref_mut() {
            tr.push(Event::Alloc(id, t.bytes(), addr[id]));
        }
    };
    for &id in &g.leafs {
        place(
            id, &mut own, &mut addr, &children, &views, &mut a, &mut trace,
        );
    }
    for &id in &g.nodes {
        place(
            id, &mut own, &mut addr, &children, &views, &mut a, &mut trace,
        );
        let srcs = g.tensors[id].srcs;
        for &p in srcs.iter().take_while(|&&s| s != NONE) {
            children[p] -= 1;
            if children[p] != 0 || views[p] != 0 {
                continue;
            }
            let victim = match g.tensors[p].kind {
                Kind::View(root) => {
                    views[root] -= 1;
                    (views[root] == 0 && children[root] == 0).then_some(root)
                }
                _ => Some(p),
            };
            if let Some(v) = victim {
                if own[v] && !g.tensors[v].output {
                    own[v] = false;
                    let b = g.tensors[v].bytes();
                    a.free(addr[v], b);
                    if let Some(tr) = trace.as_deref_mut() {
                        tr.push(Event::Free(v, b, addr[v]));
                    }
                }
            }
        }
    }
    a.max
}
