//! Load-time rewrites of an ONNX protobuf before tract parses it.
//!
//! * [`fold_constant_dequantize`]: constant `DequantizeLinear` nodes become f32 initialisers.
//! * [`fake_quantize_activations`]: activation `QuantizeLinear -> DequantizeLinear` pairs become
//!   the equivalent float ops (`Div, Round, Clip, Mul`), so tract never sees a
//!   `DequantizeLinear` feeding a `Softmax` (see that function for the tract bug this avoids).
//! * [`pin_input`]: a graph input becomes a constant (Silero's `sr`), so tract can resolve the
//!   nodes that branch on it while optimising.
//!
//! Smart Turn v3.2-cpu is a QDQ int8 model: every weight is an int8 initialiser (int32 for
//! biases) followed by a per-channel `DequantizeLinear`, and every activation goes through a
//! per-tensor uint8 `QuantizeLinear -> DequantizeLinear` pair (78 of them). After
//! [`fold_constant_dequantize`] and [`fake_quantize_activations`]
//! tract sees a plain f32 graph that computes exactly what the ONNX spec says the QDQ graph
//! computes. Checked against onnxruntime when this was written: the folded weights equal the
//! reference `DequantizeLinear` outputs bit for bit, and the activation rewrite alone gives
//! bit-identical probabilities to the original graph under `ORT_DISABLE_ALL`. (With weights
//! folded too onnxruntime's output moves a little, because it prepacks constant weights and so
//! sums in another order; this model amplifies such 1-ulp changes.)
//!
//! With tract-onnx 0.23.9 the weight folding is not strictly needed (tract's own per-axis
//! `DequantizeLinear` gives the same results); the activation rewrite is (see
//! [`fake_quantize_activations`]). Folding is kept as cheap insurance: tract then never touches
//! its quantisation code for this model.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result, bail, ensure};
use tract_onnx::data_resolver::MmapDataResolver;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto};
use tract_onnx::prelude::*;

/// Replaces every `DequantizeLinear` whose inputs are all initialisers (in the main graph) by
/// an f32 initialiser carrying its output name: `y = (x - zero_point) * scale`, with
/// `scale`/`zero_point` broadcast along `axis` (default 1) when they are 1-D, in f32 as the ONNX
/// reference does. Returns the number of nodes folded.
pub fn fold_constant_dequantize(model: &mut ModelProto) -> Result<usize> {
    let graph = model.graph.as_mut().context("ONNX model has no graph")?;
    let index: HashMap<String, usize> =
        graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();

    let mut folded = Vec::new();
    let mut keep = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let constant = node.op_type == "DequantizeLinear"
            && node.domain.is_empty()
            && node.input.iter().all(|i| i.is_empty() || index.contains_key(i));
        if !constant {
            keep.push(node);
            continue;
        }
        let get = |k: usize| node.input.get(k).filter(|s| !s.is_empty()).map(|s| &graph.initializer[index[s]]);
        let x = get(0).context("DequantizeLinear without x")?;
        let scale = get(1).context("DequantizeLinear without scale")?;
        let y = dequantize(&node, x, scale, get(2)).with_context(|| format!("folding {}", node.name))?;
        folded.push(y);
    }
    graph.node = keep;
    let n = folded.len();
    graph.initializer.extend(folded);
    Ok(n)
}

/// Drops initialisers no node (nor graph output) uses any more, e.g. the int8 weights and the
/// scales / zero points left behind by the other rewrites. Returns how many were dropped.
pub fn drop_unused_initializers(model: &mut ModelProto) -> Result<usize> {
    let graph = model.graph.as_mut().context("ONNX model has no graph")?;
    let used: HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().cloned())
        .chain(graph.output.iter().map(|o| o.name.clone()))
        .collect();
    let before = graph.initializer.len();
    graph.initializer.retain(|t| used.contains(&t.name));
    Ok(before - graph.initializer.len())
}

fn dequantize(node: &NodeProto, x: &TensorProto, scale: &TensorProto, zp: Option<&TensorProto>) -> Result<TensorProto> {
    let block_size = attr_int(node, "block_size").unwrap_or(0);
    ensure!(block_size == 0, "blocked quantisation is not supported");
    let xt = load(x)?;
    let scale = load(scale)?;
    ensure!(scale.datum_type() == f32::datum_type(), "scale must be f32, got {:?}", scale.datum_type());
    let scale = scale.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    let zp: Vec<f32> = match zp {
        Some(z) => load(z)?.cast_to::<f32>()?.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
        None => vec![0.0; scale.len()],
    };
    ensure!(zp.len() == scale.len(), "scale and zero point lengths differ");
    let xs = xt.cast_to::<f32>()?;
    let xs = xs.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    let shape: Vec<usize> = xt.shape().to_vec();

    let values: Vec<f32> = if scale.len() == 1 {
        xs.iter().map(|&v| (v - zp[0]) * scale[0]).collect()
    } else {
        let rank = shape.len() as i64;
        let axis = attr_int(node, "axis").unwrap_or(1);
        let axis = if axis < 0 { axis + rank } else { axis };
        ensure!((0..rank).contains(&axis), "axis {axis} out of range for rank {rank}");
        let axis = axis as usize;
        ensure!(shape[axis] == scale.len(), "per-axis scale length {} != dim {}", scale.len(), shape[axis]);
        let inner: usize = shape[axis + 1..].iter().product();
        xs.iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = (i / inner) % shape[axis];
                (v - zp[c]) * scale[c]
            })
            .collect()
    };
    Ok(TensorProto {
        name: node.output[0].clone(),
        dims: x.dims.clone(),
        data_type: DataType::Float as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    })
}

fn load(t: &TensorProto) -> Result<Tensor> {
    if t.data_location == Some(tract_onnx::pb::tensor_proto::DataLocation::External as i32) {
        bail!("external tensor data is not supported: {}", t.name);
    }
    tract_onnx::tensor::load_tensor(&MmapDataResolver, t, None)
}

fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

/// Replaces each `QuantizeLinear(x, s, zp)` whose output feeds only `DequantizeLinear` nodes with
/// the same per-tensor `s`/`zp` (a "fake quantisation" pair, as in every QDQ activation) by
///
/// ```text
/// y = Mul(Clip(Round(Div(x, s)), lo - zp, hi - zp), s)
/// ```
///
/// which is exactly `DequantizeLinear(QuantizeLinear(x))` (ONNX `Round` is half-to-even, like
/// `QuantizeLinear`; `[lo, hi]` is the range of the quantised type). Returns the number of pairs.
///
/// Why: tract 0.23.9's `DequantizeLinearF32::declutter` (tract-core `src/ops/quant.rs`) walks from
/// a `DequantizeLinear` through ops whose axes mapping "looks element-wise" to the next
/// `QuantizeLinear` and replaces the chain by a 256-entry lookup table. `Softmax` has a natural
/// axes mapping, so `DQ -> Softmax -> Q` (4 of them in Smart Turn's attention) becomes a LUT
/// computed by a softmax over the 256 codes, which is wrong and wrecks the output
/// (probabilities ~0.3 instead of ~0.01). With no activation `DequantizeLinear` left, that rule
/// never fires and tract optimises a plain f32 graph.
pub fn fake_quantize_activations(model: &mut ModelProto) -> Result<usize> {
    let graph = model.graph.as_mut().context("ONNX model has no graph")?;
    let init: HashMap<String, Tensor> = graph
        .initializer
        .iter()
        .filter(|t| t.dims.iter().product::<i64>() == 1)
        .map(|t| Ok((t.name.clone(), load(t)?)))
        .collect::<Result<_>>()?;
    let scalar_f32 = |name: &str| -> Option<f32> {
        init.get(name)?.cast_to::<f32>().ok()?.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.first().copied()
    };

    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for inp in &n.input {
            consumers.entry(inp.as_str()).or_default().push(i);
        }
    }
    let graph_outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();

    // (quantize node index, dequantize node indices, scale, zero point, type range)
    let mut pairs = Vec::new();
    for (qi, q) in graph.node.iter().enumerate() {
        if q.op_type != "QuantizeLinear" || !q.domain.is_empty() || q.input.len() < 2 {
            continue;
        }
        let (Some(scale), Some(zp_name)) = (scalar_f32(&q.input[1]), q.input.get(2)) else { continue };
        let Some(zp_t) = init.get(zp_name) else { continue };
        let (lo, hi) = match zp_t.datum_type() {
            DatumType::U8 => (u8::MIN as f32, u8::MAX as f32),
            DatumType::I8 => (i8::MIN as f32, i8::MAX as f32),
            _ => continue,
        };
        let Some(zp) = scalar_f32(zp_name) else { continue };
        if graph_outputs.contains(q.output[0].as_str()) {
            continue;
        }
        let dqs = consumers.get(q.output[0].as_str()).cloned().unwrap_or_default();
        let matching = |d: &NodeProto| {
            d.op_type == "DequantizeLinear"
                && d.domain.is_empty()
                && d.input.len() == 3
                && scalar_f32(&d.input[1]) == Some(scale)
                && scalar_f32(&d.input[2]) == Some(zp)
                && init.get(&d.input[2]).map(|t| t.datum_type()) == Some(zp_t.datum_type())
        };
        if dqs.is_empty() || !dqs.iter().all(|&d| matching(&graph.node[d])) {
            continue;
        }
        pairs.push((qi, dqs, scale, zp, lo, hi));
    }

    let mut replace: HashMap<usize, Vec<NodeProto>> = HashMap::new();
    let mut drop = HashSet::new();
    let mut new_init = Vec::new();
    for (qi, dqs, scale, zp, lo, hi) in &pairs {
        let q = &graph.node[*qi];
        let base = if q.name.is_empty() { q.output[0].clone() } else { q.name.clone() };
        let mut c = |suffix: &str, v: f32| {
            let name = format!("{base}.fq_{suffix}");
            new_init.push(TensorProto {
                name: name.clone(),
                data_type: DataType::Float as i32,
                float_data: vec![v],
                ..Default::default()
            });
            name
        };
        let (s, min, max) = (c("scale", *scale), c("min", lo - zp), c("max", hi - zp));
        let t = |suffix: &str| format!("{base}.fq_{suffix}");
        let node = |op: &str, name: String, inputs: Vec<String>, output: String| NodeProto {
            op_type: op.into(),
            name,
            input: inputs,
            output: vec![output],
            ..Default::default()
        };
        // One fake-quant chain whose last op writes the first DQ's output; extra DQs (if any) get
        // an Identity of it.
        let out0 = graph.node[dqs[0]].output[0].clone();
        let mut nodes = vec![
            node("Div", t("div"), vec![q.input[0].clone(), s.clone()], t("div")),
            node("Round", t("round"), vec![t("div")], t("round")),
            node("Clip", t("clip"), vec![t("round"), min, max], t("clip")),
            node("Mul", t("mul"), vec![t("clip"), s], out0.clone()),
        ];
        for &d in &dqs[1..] {
            nodes.push(node("Identity", t(&format!("id{d}")), vec![out0.clone()], graph.node[d].output[0].clone()));
        }
        replace.insert(*qi, nodes);
        drop.extend(dqs.iter().copied());
    }
    let old = std::mem::take(&mut graph.node);
    for (i, n) in old.into_iter().enumerate() {
        if let Some(nodes) = replace.remove(&i) {
            graph.node.extend(nodes);
        } else if !drop.contains(&i) {
            graph.node.push(n);
        }
    }
    graph.initializer.extend(new_init);
    Ok(pairs.len())
}

/// Turns graph input `name` into an initialiser holding `value`, so everything depending on it
/// is constant-folded by tract. Returns false (and changes nothing) if there is no such input.
pub fn pin_input(model: &mut ModelProto, name: &str, value: TensorProto) -> Result<bool> {
    let graph = model.graph.as_mut().context("ONNX model has no graph")?;
    let before = graph.input.len();
    graph.input.retain(|input| input.name != name);
    if graph.input.len() == before {
        return Ok(false);
    }
    graph.initializer.retain(|t| t.name != name);
    graph.initializer.push(TensorProto { name: name.to_string(), ..value });
    Ok(true)
}

/// A scalar int64 tensor (for [`pin_input`]).
pub fn scalar_i64(v: i64) -> TensorProto {
    TensorProto { data_type: DataType::Int64 as i32, int64_data: vec![v], ..Default::default() }
}
