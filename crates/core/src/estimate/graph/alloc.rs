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
//!
//! With several backends (`ggml_backend_sched`) one allocator runs over the scheduler's copy of the
//! graph, each tensor in its backend's buffer; see `sched.rs` for what that copy holds.

use super::ir::{Graph, Kind, NONE};

/// CPU buffer alignment (`TENSOR_ALIGNMENT`, ggml/src/ggml-impl.h).
pub(super) const CPU_ALIGN: u64 = 32;

/// The free list of one buffer. The last block is the unbounded tail.
struct DynAlloc {
    /// (offset, size), sorted by offset.
    blocks: Vec<(u64, u64)>,
    max: u64,
    align: u64,
}

impl DynAlloc {
    fn new(align: u64) -> DynAlloc {
        DynAlloc {
            blocks: vec![(0, u64::MAX / 2)],
            max: 0,
            align,
        }
    }

    fn aligned(&self, x: u64) -> u64 {
        x.div_ceil(self.align) * self.align
    }

    fn alloc(&mut self, size: u64) -> u64 {
        let size = self.aligned(size);
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
        let size = self.aligned(size);
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

/// How the allocator treats a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// Allocated here (an input, an op result, a copy between backends).
    Owned,
    /// Memory elsewhere: weights, the KV cache.
    External,
    /// A view of the owned tensor: it keeps that tensor alive while it is used.
    View(usize),
    /// A dependency node of the scheduler (`GGML_OP_NONE` view): allocates nothing and is no view
    /// for the counts; its sources stay alive until it runs.
    Dep,
}

/// One tensor of the allocator's graph.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub slot: Slot,
    /// Bytes the buffer type allocates for it (`ggml_backend_buft_get_alloc_size`).
    pub bytes: u64,
    /// Its backend's buffer.
    pub buffer: usize,
    /// `ggml_op_can_inplace`.
    pub inplace: bool,
    /// A graph output: never freed, never reused.
    pub output: bool,
    /// Shape and element size, for `ggml_are_same_layout`.
    pub layout: ([u64; 4], u64),
    /// Sources that matter for allocation: `Seq::srcs[srcs.0..srcs.1]`.
    pub srcs: (u32, u32),
}

/// The graph the allocator walks: the items, the leafs in order, the nodes in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Seq {
    pub items: Vec<Item>,
    /// Every item's sources, one after the other.
    pub srcs: Vec<usize>,
    pub leafs: Vec<usize>,
    pub nodes: Vec<usize>,
}

/// The pool's length as an index.
pub(super) fn pool_len(pool: &[usize]) -> u32 {
    u32::try_from(pool.len()).unwrap_or(u32::MAX)
}

/// Replays the allocation of `g` in one CPU buffer; returns its size and, when `trace`, the events.
pub fn simulate(g: &Graph, trace: Option<&mut Vec<Event>>) -> u64 {
    let mut srcs = Vec::with_capacity(g.tensors.len() * 2);
    let items = g
        .tensors
        .iter()
        .map(|t| Item {
            slot: match t.kind {
                Kind::External => Slot::External,
                Kind::Input | Kind::Op => Slot::Owned,
                Kind::View(root) => Slot::View(root),
            },
            bytes: t.bytes(),
            buffer: 0,
            inplace: t.inplace,
            output: t.output,
            layout: (t.ne, t.esize),
            srcs: {
                let start = pool_len(&srcs);
                srcs.extend(t.srcs.iter().copied().take_while(|&s| s != NONE));
                (start, pool_len(&srcs))
            },
        })
        .collect();
    let seq = Seq {
        items,
        srcs,
        leafs: g.leafs.clone(),
        nodes: g.nodes.clone(),
    };
    replay(&seq, &[CPU_ALIGN], trace)[0]
}

/// The allocator's state over one graph.
struct State<'a> {
    items: &'a [Item],
    pool: &'a [usize],
    children: Vec<u32>,
    views: Vec<u32>,
    own: Vec<bool>,
    addr: Vec<u64>,
    buf: Vec<usize>,
    bufs: Vec<DynAlloc>,
}

impl State<'_> {
    /// `ggml_gallocr_allocate_node`.
    fn place(&mut self, id: usize, trace: &mut Option<&mut Vec<Event>>) {
        let t = &self.items[id];
        if self.own[id] || t.slot != Slot::Owned {
            return;
        }
        self.own[id] = true;
        if t.inplace {
            for &p in &self.pool[t.srcs.0 as usize..t.srcs.1 as usize] {
                let pt = &self.items[p];
                if !self.own[p] || pt.output || pt.layout != t.layout {
                    continue;
                }
                if self.children[p] == 1 && self.views[p] == 0 {
                    self.addr[id] = self.addr[p];
                    self.buf[id] = self.buf[p];
                    self.own[p] = false;
                    let b = &mut self.bufs[self.buf[p]];
                    let (ps, ns) = (b.aligned(pt.bytes), b.aligned(t.bytes));
                    if ps > ns {
                        b.free(self.addr[p] + ns, ps - ns);
                    }
                    if let Some(tr) = trace.as_deref_mut() {
                        tr.push(Event::Reuse(id, p));
                    }
                    return;
                }
            }
        }
        self.buf[id] = t.buffer;
        self.addr[id] = self.bufs[t.buffer].alloc(t.bytes);
        if let Some(tr) = trace.as_deref_mut() {
            tr.push(Event::Alloc(id, t.bytes, self.addr[id]));
        }
    }

    /// `ggml_gallocr_free_node` (outputs are never freed).
    fn free(&mut self, v: usize, trace: &mut Option<&mut Vec<Event>>) {
        if !self.own[v] || self.items[v].output {
            return;
        }
        self.own[v] = false;
        let (b, a) = (self.items[v].bytes, self.addr[v]);
        self.bufs[self.buf[v]].free(a, b);
        if let Some(tr) = trace.as_deref_mut() {
            tr.push(Event::Free(v, b, a));
        }
    }
}

/// Replays `ggml_gallocr_alloc_graph_impl` over `seq` with one buffer per entry of `aligns`;
/// returns each buffer's size.
pub(super) fn replay(seq: &Seq, aligns: &[u64], mut trace: Option<&mut Vec<Event>>) -> Vec<u64> {
    let items = &seq.items;
    let n = items.len();
    let srcs_of = |id: usize| &seq.srcs[items[id].srcs.0 as usize..items[id].srcs.1 as usize];
    let mut st = State {
        items,
        pool: &seq.srcs,
        children: vec![0; n],
        views: vec![0; n],
        own: vec![false; n],
        addr: vec![0; n],
        buf: vec![0; n],
        bufs: aligns.iter().map(|&a| DynAlloc::new(a)).collect(),
    };
    for &id in &seq.nodes {
        if let Slot::View(root) = items[id].slot {
            st.views[root] += 1;
        }
        for &s in srcs_of(id) {
            st.children[s] += 1;
        }
    }
    for &id in &seq.leafs {
        st.place(id, &mut trace);
    }
    for &id in &seq.nodes {
        st.place(id, &mut trace);
        for &p in srcs_of(id) {
            st.children[p] -= 1;
            if st.children[p] != 0 || st.views[p] != 0 {
                continue;
            }
            let victim = match items[p].slot {
                Slot::View(root) => {
                    st.views[root] -= 1;
                    (st.views[root] == 0 && st.children[root] == 0).then_some(root)
                }
                _ => Some(p),
            };
            if let Some(v) = victim {
                st.free(v, &mut trace);
            }
        }
    }
    st.bufs.iter().map(|b| b.max).collect()
}
