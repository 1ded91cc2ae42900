//! An ONNX file into a runnable tract plan: the protobuf read, rewritten, its inputs given
//! concrete shapes, then optimised.

use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

/// Loads `bytes`, lets `rewrite` edit the protobuf, names the inputs in `inputs`' order with
/// their facts, and optimises.
pub(crate) fn load(
    bytes: &[u8],
    rewrite: impl FnOnce(&mut ModelProto) -> TractResult<()>,
    inputs: &[(&str, InferenceFact)],
) -> TractResult<Arc<TypedRunnableModel>> {
    // The exporters' value_info and output shapes carry a symbolic batch that clashes with the
    // fixed batch of 1 given below.
    let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
    let mut proto = onnx.proto_model_for_read(&mut std::io::Cursor::new(bytes))?;
    rewrite(&mut proto)?;
    let mut model = onnx.model_for_proto_model(&proto)?;
    model.set_input_names(inputs.iter().map(|(name, _)| *name))?;
    for (i, (_, fact)) in inputs.iter().enumerate() {
        model.set_input_fact(i, fact.clone())?;
    }
    model.into_optimized()?.into_runnable()
}
