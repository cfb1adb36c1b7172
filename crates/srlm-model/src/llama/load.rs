//! Building a [`Llama`] from host weights (and back), or at random.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Embedding, Linear};
use burn::tensor::{Device, Distribution, FloatDType, Tensor};

use super::{Attention, DecoderLayer, Llama, Mlp, RmsNorm};
use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::lora::{LoraConfig, LoraDtype, LoraTarget};
use crate::rope::RotaryTables;
use crate::weights::{layer_name, read_f32, HostTensor, TensorReader, WeightMap};

/// Where a tensor's values come from while building a model.
trait Source {
    /// A `[out, in]`-shaped (PyTorch layout) matrix or a vector, by Hugging Face name.
    fn get(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor<2>>>;
    /// A PyTorch `[out, in]` matrix as burn's contiguous `[in, out]`. (A transposed view would
    /// be copied back to contiguous memory by every `linear` call: 30% of decode time.)
    fn get_transposed(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor<2>>>;
    fn device(&self) -> &Device;
}

/// Host tensors, taken by name and shape (from a map, or read from files one at a time) and
/// uploaded to `device`.
struct FromHost<'a, F> {
    take: F,
    device: &'a Device,
}

impl<F> Source for FromHost<'_, F>
where
    F: FnMut(&str, &[usize]) -> Result<Option<HostTensor>>,
{
    fn get(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor<2>>> {
        let host = (self.take)(name, shape)?;
        Ok(host.map(|t| t.to_matrix(self.device)))
    }
    fn get_transposed(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor<2>>> {
        let host = (self.take)(name, shape)?;
        Ok(host.map(|t| t.transposed().to_matrix(self.device)))
    }
    fn device(&self) -> &Device {
        self.device
    }
}

struct Random<'a> {
    device: &'a Device,
}

impl Source for Random<'_> {
    fn get(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor<2>>> {
        let (rows, cols) = if shape.len() == 1 {
            (1, shape[0])
        } else {
            (shape[0], shape[1])
        };
        let tensor = if name.ends_with("norm.weight") {
            Tensor::ones([rows, cols], self.device)
        } else {
            Tensor::random([rows, cols], Distribution::Normal(0.0, 0.02), self.device)
        };
        Ok(Some(tensor))
    }
    fn get_transposed(&mut self, name: &str, shape: &[usize]) -> Result<Option<Tensor<2>>> {
        self.get(name, &[shape[1], shape[0]])
    }
    fn device(&self) -> &Device {
        self.device
    }
}

/// `tensor`, or the error naming the missing `name`.
fn present(tensor: Option<Tensor<2>>, name: &str, desc: &str) -> Result<Tensor<2>> {
    tensor.ok_or_else(|| ModelError::MissingTensor {
        tensor: name.to_string(),
        source_desc: desc.to_string(),
    })
}

fn require(source: &mut dyn Source, name: &str, shape: &[usize], desc: &str) -> Result<Tensor<2>> {
    present(source.get(name, shape)?, name, desc)
}

fn vector(source: &mut dyn Source, name: &str, len: usize, desc: &str) -> Result<Tensor<1>> {
    Ok(require(source, name, &[len], desc)?.reshape([len]))
}

/// A projection's weight and bias; the weight is cast to `dtype` as soon as it is read, so
/// that at most one of them is ever held in f32.
fn linear(
    source: &mut dyn Source,
    prefix: &str,
    (out_dim, in_dim): (usize, usize),
    bias: bool,
    dtype: Option<FloatDType>,
    desc: &str,
) -> Result<Linear> {
    // PyTorch stores `[out, in]`; burn's row layout is `[in, out]`.
    let name = format!("{prefix}.weight");
    let mut weight = present(
        source.get_transposed(&name, &[out_dim, in_dim])?,
        &name,
        desc,
    )?;
    if let Some(dtype) = dtype {
        weight = weight.cast(dtype);
    }
    let bias = if bias {
        Some(Param::from_tensor(vector(
            source,
            &format!("{prefix}.bias"),
            out_dim,
            desc,
        )?))
    } else {
        None
    };
    Ok(Linear {
        weight: Param::from_tensor(weight),
        bias,
    })
}

fn dropout(prob: f64) -> Dropout {
    DropoutConfig::new(prob).init()
}

/// The model of `config` from `source`; with `base`, its target projections are stored at its
/// `base_dtype` (each cast as it is read).
fn build(
    config: &LlamaConfig,
    source: &mut dyn Source,
    desc: &str,
    base: Option<&LoraConfig>,
) -> Result<Llama> {
    config
        .validate_stored(base)
        .map_err(|reason| ModelError::Config {
            path: desc.into(),
            reason,
        })?;
    let base_dtype = |target: LoraTarget| match base {
        Some(lora) if lora.base_dtype != LoraDtype::F32 && lora.targets.contains(&target) => {
            Some(lora.base_dtype.float())
        }
        _ => None,
    };
    let (hidden, vocab) = (config.hidden_size, config.vocab_size);
    let (heads, kv_heads, head_dim) = (
        config.num_attention_heads,
        config.kv_heads(),
        config.head_dim(),
    );
    let embed = Embedding {
        weight: Param::from_tensor(require(
            source,
            "model.embed_tokens.weight",
            &[vocab, hidden],
            desc,
        )?),
    };
    let mut layers = Vec::with_capacity(config.num_hidden_layers);
    for i in 0..config.num_hidden_layers {
        let n = |s: &str| layer_name(i, s);
        let mut project = |target: LoraTarget| {
            let (input, output) = config.projection_shape(target);
            linear(
                source,
                &n(target.path()),
                (output as usize, input as usize),
                config.projection_bias(target),
                base_dtype(target),
                desc,
            )
        };
        let attention = Attention::new(
            project(LoraTarget::Query)?,
            project(LoraTarget::Key)?,
            project(LoraTarget::Value)?,
            project(LoraTarget::Output)?,
            dropout(config.attention_dropout),
            heads,
            kv_heads,
            head_dim,
        );
        let mlp = Mlp {
            gate: project(LoraTarget::Gate)?,
            up: project(LoraTarget::Up)?,
            down: project(LoraTarget::Down)?,
            lora_dropout: dropout(0.0),
        };
        layers.push(DecoderLayer {
            input_norm: RmsNorm::new(
                vector(source, &n("input_layernorm.weight"), hidden, desc)?,
                config.rms_norm_eps,
            ),
            attention,
            post_attention_norm: RmsNorm::new(
                vector(source, &n("post_attention_layernorm.weight"), hidden, desc)?,
                config.rms_norm_eps,
            ),
            mlp,
            dropout: dropout(0.0),
        });
    }
    let norm = RmsNorm::new(
        vector(source, "model.norm.weight", hidden, desc)?,
        config.rms_norm_eps,
    );
    let lm_head = if config.tie_word_embeddings {
        None
    } else {
        Some(linear(
            source,
            "lm_head",
            (vocab, hidden),
            false,
            None,
            desc,
        )?)
    };
    let rope = RotaryTables::new(config, source.device());
    Ok(Llama {
        embed,
        layers,
        norm,
        lm_head,
        rope,
        compute: FloatDType::F32,
    })
}

impl Llama {
    /// Builds the model from Hugging Face-named host weights, checking every shape against the
    /// config and every value for finiteness. Tensors the architecture does not use are left in
    /// `weights`.
    pub fn from_weights(
        config: &LlamaConfig,
        weights: &mut WeightMap,
        device: &Device,
    ) -> Result<Self> {
        weights.check_finite()?;
        let desc = weights.source.clone();
        let take = |name: &str, shape: &[usize]| weights.take_optional(name, shape);
        build(config, &mut FromHost { take, device }, &desc, None)
    }

    /// Builds the model from files read one tensor at a time, each checked as
    /// [`Llama::from_weights`] checks a map; with `base`, its target projections are stored at
    /// its base dtype as they are read. Tensors the architecture does not use are not read.
    pub(crate) fn from_reader(
        config: &LlamaConfig,
        reader: &dyn TensorReader,
        device: &Device,
        base: Option<&LoraConfig>,
    ) -> Result<Self> {
        let desc = reader.source().to_string();
        // At most one tensor on the host in `f32` at once.
        let take = |name: &str, shape: &[usize]| reader.read_checked(name, shape);
        build(config, &mut FromHost { take, device }, &desc, base)
    }

    /// A randomly initialised model (normal, std 0.02; norms at 1), seeded through `device`.
    pub fn random(config: &LlamaConfig, device: &Device, seed: u64) -> Result<Self> {
        device.seed(seed);
        build(config, &mut Random { device }, "<random>", None)
    }

    /// [`Llama::random`] with `lora`'s target projections stored at its `base_dtype`, each cast
    /// as it is drawn: the same values as `Llama::random(..).with_base_dtype(lora)`, without
    /// ever holding the whole model in f32.
    pub fn random_with_base_dtype(
        config: &LlamaConfig,
        device: &Device,
        seed: u64,
        lora: &LoraConfig,
    ) -> Result<Self> {
        device.seed(seed);
        build(config, &mut Random { device }, "<random>", Some(lora))
    }

    /// Sets the dropout on residual branches (the paper fine-tunes with 0.1). Dropout is active
    /// only on an autodiff device.
    pub fn with_hidden_dropout(mut self, prob: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&prob) {
            return Err(ModelError::InvalidInput(format!(
                "dropout {prob} is not in [0, 1)"
            )));
        }
        for layer in &mut self.layers {
            layer.dropout = dropout(prob);
        }
        Ok(self)
    }

    /// The weights in Hugging Face naming and PyTorch layout, ready to save.
    pub fn to_weights(&self) -> Result<WeightMap> {
        let mut map = WeightMap::new("<model>");
        // `transpose`: burn's `[in, out]` back to PyTorch's `[out, in]`; vectors arrive as `[1, n]`.
        let mut put = |name: String, t: Tensor<2>, transpose: bool| -> Result<()> {
            let vector = name.ends_with("norm.weight") || name.ends_with(".bias");
            let t = if transpose { t.transpose() } else { t };
            let shape = if vector {
                vec![t.dims()[1]]
            } else {
                t.dims().to_vec()
            };
            let data = read_f32(t, &name)?;
            map.insert(name, HostTensor { shape, data });
            Ok(())
        };
        let vec2 = |t: Tensor<1>| {
            let n = t.dims()[0];
            t.reshape([1, n])
        };
        put(
            "model.embed_tokens.weight".into(),
            self.embed.weight.val(),
            false,
        )?;
        for (i, layer) in self.layers.iter().enumerate() {
            let n = |s: &str| layer_name(i, s);
            let a = &layer.attention;
            let m = &layer.mlp;
            let linears = [
                ("self_attn.q_proj", &a.q),
                ("self_attn.k_proj", &a.k),
                ("self_attn.v_proj", &a.v),
                ("self_attn.o_proj", &a.o),
                ("mlp.gate_proj", &m.gate),
                ("mlp.up_proj", &m.up),
                ("mlp.down_proj", &m.down),
            ];
            for (name, lin) in linears {
                put(n(&format!("{name}.weight")), lin.weight.val(), true)?;
                if let Some(bias) = &lin.bias {
                    put(n(&format!("{name}.bias")), vec2(bias.val()), false)?;
                }
            }
            put(
                n("input_layernorm.weight"),
                vec2(layer.input_norm.weight.val()),
                false,
            )?;
            put(
                n("post_attention_layernorm.weight"),
                vec2(layer.post_attention_norm.weight.val()),
                false,
            )?;
        }
        put(
            "model.norm.weight".into(),
            vec2(self.norm.weight.val()),
            false,
        )?;
        if let Some(head) = &self.lm_head {
            put("lm_head.weight".into(), head.weight.val(), true)?;
        }
        Ok(map)
    }
}
