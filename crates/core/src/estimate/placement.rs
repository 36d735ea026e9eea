//! Where llama.cpp puts each layer for `-ngl N` (`llama_model::load_tensors`): the input embedding on
//! the CPU, the last `N` blocks on the GPUs split in proportion to free memory (or `-ts`), and the
//! output layer, which counts as block `n_layer`, on a GPU only when `N > n_layer`.

/// A device index: `Some(g)` for GPU `g`, `None` for the CPU.
pub type Dev = Option<usize>;

/// The layer-to-device map for one `-ngl` value.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Device of blocks `0..n_layer` and, at index `n_layer`, of the output layer.
    pub layer_dev: Vec<Dev>,
    /// Layers (blocks plus the output layer) on GPUs: `min(ngl, n_layer + 1)` when there are GPUs.
    pub gpu_layers: u32,
}

impl Placement {
    /// Places `n_layer + 1` layers for `ngl` over GPUs with split weights `split` (free memory or
    /// `-ts`; empty for CPU-only).
    #[must_use]
    pub fn new(n_layer: u32, ngl: u32, split: &[f64]) -> Placement {
        let total = n_layer + 1;
        if split.is_empty() || ngl == 0 {
            return Placement {
                layer_dev: vec![None; total as usize],
                gpu_layers: 0,
            };
        }
        let act = ngl.min(total);
        let i_gpu_start = n_layer.saturating_sub(ngl);
        // Cumulative, normalized split points; layer il goes to the first GPU whose point exceeds
        // its fraction of the offloaded range (std::upper_bound in llama.cpp).
        let sum: f64 = split.iter().sum();
        let mut acc = 0.0;
        let points: Vec<f64> = split
            .iter()
            .map(|w| {
                acc += if sum > 0.0 {
                    w / sum
                } else {
                    1.0 / split.len() as f64
                };
                acc
            })
            .collect();
        let layer_dev = (0..total)
            .map(|il| {
                if il < i_gpu_start || il - i_gpu_start >= act {
                    return None;
                }
                let x = f64::from(il - i_gpu_start) / f64::from(act);
                let g = points
                    .iter()
                    .position(|&p| p > x)
                    .unwrap_or(split.len() - 1);
                Some(g)
            })
            .collect();
        Placement {
            layer_dev,
            gpu_layers: act,
        }
    }

    /// The device of the output layer.
    #[must_use]
    pub fn output_dev(&self) -> Dev {
        *self.layer_dev.last().unwrap_or(&None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_layers_go_to_the_gpu() {
        let p = Placement::new(32, 10, &[1.0]);
        assert_eq!(p.layer_dev.iter().filter(|d| d.is_some()).count(), 10);
        assert_eq!(p.layer_dev[21], None);
        assert_eq!(p.layer_dev[22], Some(0));
        assert_eq!(p.output_dev(), None, "output needs ngl > n_layer");
        let full = Placement::new(32, 33, &[1.0]);
        assert_eq!(full.output_dev(), Some(0));
        assert_eq!(full.gpu_layers, 33);
        assert_eq!(Placement::new(32, 999, &[1.0]).gpu_layers, 33);
    }

    #[test]
    fn two_gpus_split_by_weight() {
        let p = Placement::new(32, 33, &[1.0, 1.0]);
        let on0 = p.layer_dev.iter().filter(|d| **d == Some(0)).count();
        let on1 = p.layer_dev.iter().filter(|d| **d == Some(1)).count();
        assert_eq!((on0, on1), (17, 16));
        assert_eq!(p.output_dev(), Some(1));
    }
}
