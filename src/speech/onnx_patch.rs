//! A minimal protobuf edit of an ONNX model: declares an intermediate tensor as an
//! extra graph output. Piper voices compute each phoneme's duration in their single
//! `Ceil` node; exposing that tensor gives exact per-phoneme timings (docs/design.md § ONNX Runtime and Piper timings).

use anyhow::{Result, bail};

const MODEL_GRAPH: u64 = 7; // ModelProto.graph
const GRAPH_NODE: u64 = 1; // GraphProto.node
const GRAPH_OUTPUT: u64 = 12; // GraphProto.output
const NODE_OUTPUT: u64 = 2; // NodeProto.output
const NODE_OP_TYPE: u64 = 4; // NodeProto.op_type
const VALUE_INFO_NAME: u64 = 1; // ValueInfoProto.name

/// One field of a protobuf message: its number and, for length-delimited fields, the payload.
struct Field<'a> {
    number: u64,
    start: usize,
    payload: Option<&'a [u8]>,
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = buf.get(*pos) else { bail!("truncated varint") };
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("varint too long")
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn fields(buf: &[u8]) -> Result<Vec<Field<'_>>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let start = pos;
        let key = read_varint(buf, &mut pos)?;
        let payload = match key & 7 {
            0 => {
                read_varint(buf, &mut pos)?;
                None
            }
            1 => {
                pos += 8;
                None
            }
            5 => {
                pos += 4;
                None
            }
            2 => {
                let len = read_varint(buf, &mut pos)? as usize;
                let end = pos.checked_add(len).filter(|&e| e <= buf.len());
                let Some(end) = end else { bail!("field runs past the end of the message") };
                let p = &buf[pos..end];
                pos = end;
                Some(p)
            }
            w => bail!("unsupported wire type {w}"),
        };
        if pos > buf.len() {
            bail!("message truncated");
        }
        out.push(Field { number: key >> 3, start, payload });
    }
    Ok(out)
}

fn strings(msg: &[u8], number: u64) -> Result<Vec<String>> {
    Ok(fields(msg)?
        .into_iter()
        .filter(|f| f.number == number)
        .filter_map(|f| f.payload.map(|p| String::from_utf8_lossy(p).into_owned()))
        .collect())
}

fn graph_of(model: &[u8]) -> Result<(usize, &[u8])> {
    for f in fields(model)? {
        if f.number == MODEL_GRAPH {
            if let Some(p) = f.payload {
                return Ok((f.start, p));
            }
        }
    }
    bail!("no graph in the model: not an ONNX file?")
}

/// Output names of every node with the given op type, in graph order.
pub fn node_outputs_of_type(model: &[u8], op_type: &str) -> Result<Vec<String>> {
    let (_, graph) = graph_of(model)?;
    let mut out = Vec::new();
    for f in fields(graph)? {
        if let (GRAPH_NODE, Some(node)) = (f.number, f.payload) {
            if strings(node, NODE_OP_TYPE)?.iter().any(|t| t == op_type) {
                out.extend(strings(node, NODE_OUTPUT)?);
            }
        }
    }
    Ok(out)
}

/// Returns a copy of `model` whose graph also outputs the float tensor `name`.
pub fn add_float_output(model: &[u8], name: &str) -> Result<Vec<u8>> {
    let (graph_start, graph) = graph_of(model)?;
    for f in fields(graph)? {
        if let (GRAPH_OUTPUT, Some(vi)) = (f.number, f.payload) {
            if strings(vi, VALUE_INFO_NAME)?.iter().any(|n| n == name) {
                return Ok(model.to_vec());
            }
        }
    }
    // ValueInfoProto { name, type: TypeProto { tensor_type: { elem_type: FLOAT } } }
    let mut value_info = Vec::new();
    write_varint(&mut value_info, VALUE_INFO_NAME << 3 | 2);
    write_varint(&mut value_info, name.len() as u64);
    value_info.extend_from_slice(name.as_bytes());
    value_info.extend_from_slice(&[0x12, 0x04, 0x0a, 0x02, 0x08, 0x01]);

    let mut output_field = Vec::new();
    write_varint(&mut output_field, GRAPH_OUTPUT << 3 | 2);
    write_varint(&mut output_field, value_info.len() as u64);
    output_field.extend_from_slice(&value_info);

    // Rebuild the model in one copy (a voice's graph holds its weights, tens of MB):
    // bytes before the graph field, the graph with its new length and the new output
    // appended, the rest.
    let graph_end = graph.as_ptr() as usize - model.as_ptr() as usize + graph.len();
    let mut out = Vec::with_capacity(model.len() + output_field.len() + 16);
    out.extend_from_slice(&model[..graph_start]);
    write_varint(&mut out, MODEL_GRAPH << 3 | 2);
    write_varint(&mut out, (graph.len() + output_field.len()) as u64);
    out.extend_from_slice(graph);
    out.extend_from_slice(&output_field);
    out.extend_from_slice(&model[graph_end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(fields: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, p) in fields {
            write_varint(&mut out, n << 3 | 2);
            write_varint(&mut out, p.len() as u64);
            out.extend_from_slice(p);
        }
        out
    }

    #[test]
    fn finds_ceil_and_declares_it_as_output() {
        let ceil = msg(&[(NODE_OUTPUT, b"/Ceil_output_0"), (NODE_OP_TYPE, b"Ceil")]);
        let add = msg(&[(NODE_OUTPUT, b"sum"), (NODE_OP_TYPE, b"Add")]);
        let out_vi = msg(&[(VALUE_INFO_NAME, b"output")]);
        let graph = msg(&[(GRAPH_NODE, &add), (GRAPH_NODE, &ceil), (GRAPH_OUTPUT, &out_vi)]);
        // ir_version (varint field 1) before the graph, opset_import (field 8) after it.
        let mut model = vec![0x08, 0x07];
        model.extend(msg(&[(MODEL_GRAPH, &graph), (8, b"\x08\x0d")]));

        assert_eq!(node_outputs_of_type(&model, "Ceil").unwrap(), vec!["/Ceil_output_0"]);
        let patched = add_float_output(&model, "/Ceil_output_0").unwrap();
        let (_, g) = graph_of(&patched).unwrap();
        let outputs: Vec<String> = fields(g)
            .unwrap()
            .into_iter()
            .filter(|f| f.number == GRAPH_OUTPUT)
            .flat_map(|f| strings(f.payload.unwrap(), VALUE_INFO_NAME).unwrap())
            .collect();
        assert_eq!(outputs, vec!["output", "/Ceil_output_0"]);
        // What followed the graph is intact, and patching twice changes nothing.
        assert!(patched.ends_with(&msg(&[(8, b"\x08\x0d")])));
        assert_eq!(add_float_output(&patched, "/Ceil_output_0").unwrap(), patched);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(node_outputs_of_type(&[0x3a, 0xff, 0xff, 0x01], "Ceil").is_err());
        assert!(node_outputs_of_type(b"hello world", "Ceil").is_err());
    }
}
