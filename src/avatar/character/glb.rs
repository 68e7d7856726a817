//! A glTF 2.0 binary (.glb, .vrm, .vrma) read into its JSON and its binary chunk,
//! with typed reads of accessors. Only the parts a character needs are typed; the
//! extensions stay JSON for the module that knows them (vrm.rs).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::Value;

/// The glTF JSON, as far as a character reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Json {
    pub scene: Option<usize>,
    pub scenes: Vec<SceneJson>,
    pub nodes: Vec<NodeJson>,
    pub meshes: Vec<MeshJson>,
    pub accessors: Vec<AccessorJson>,
    pub buffer_views: Vec<BufferViewJson>,
    pub buffers: Vec<BufferJson>,
    pub skins: Vec<SkinJson>,
    pub materials: Vec<MaterialJson>,
    pub textures: Vec<TextureJson>,
    pub images: Vec<ImageJson>,
    pub animations: Vec<AnimationJson>,
    pub extensions: serde_json::Map<String, Value>,
    pub extensions_used: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SceneJson {
    pub nodes: Vec<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct NodeJson {
    pub name: Option<String>,
    pub children: Vec<usize>,
    pub translation: [f32; 3],
    pub rotation: [f32; 4],
    pub scale: [f32; 3],
    pub matrix: Option<[f32; 16]>,
    pub mesh: Option<usize>,
    pub skin: Option<usize>,
}

impl Default for NodeJson {
    fn default() -> NodeJson {
        NodeJson { name: None, children: vec![], translation: [0.0; 3], rotation: [0.0, 0.0, 0.0, 1.0], scale: [1.0; 3], matrix: None, mesh: None, skin: None }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MeshJson {
    pub name: Option<String>,
    pub primitives: Vec<PrimitiveJson>,
    pub weights: Vec<f32>,
    pub extras: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct PrimitiveJson {
    pub attributes: std::collections::BTreeMap<String, usize>,
    pub indices: Option<usize>,
    pub material: Option<usize>,
    pub mode: u32,
    pub targets: Vec<std::collections::BTreeMap<String, usize>>,
    pub extras: Option<Value>,
}

impl Default for PrimitiveJson {
    fn default() -> PrimitiveJson {
        PrimitiveJson { attributes: Default::default(), indices: None, material: None, mode: 4, targets: vec![], extras: None }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessorJson {
    pub buffer_view: Option<usize>,
    #[serde(default)]
    pub byte_offset: usize,
    pub component_type: u32,
    #[serde(default)]
    pub normalized: bool,
    pub count: usize,
    #[serde(rename = "type")]
    pub kind: String,
    pub sparse: Option<SparseJson>,
}

#[derive(Debug, Deserialize)]
pub struct SparseJson {
    pub count: usize,
    pub indices: SparseIndicesJson,
    pub values: SparseValuesJson,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SparseIndicesJson {
    pub buffer_view: usize,
    #[serde(default)]
    pub byte_offset: usize,
    pub component_type: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SparseValuesJson {
    pub buffer_view: usize,
    #[serde(default)]
    pub byte_offset: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferViewJson {
    pub buffer: usize,
    #[serde(default)]
    pub byte_offset: usize,
    pub byte_length: usize,
    pub byte_stride: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferJson {
    pub byte_length: usize,
    pub uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SkinJson {
    pub inverse_bind_matrices: Option<usize>,
    pub joints: Vec<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MaterialJson {
    pub name: Option<String>,
    pub pbr_metallic_roughness: PbrJson,
    pub normal_texture: Option<TextureRefJson>,
    pub emissive_factor: [f32; 3],
    pub alpha_mode: String,
    pub alpha_cutoff: f32,
    pub double_sided: bool,
    pub extensions: serde_json::Map<String, Value>,
}

impl Default for MaterialJson {
    fn default() -> MaterialJson {
        MaterialJson {
            name: None,
            pbr_metallic_roughness: PbrJson::default(),
            normal_texture: None,
            emissive_factor: [0.0; 3],
            alpha_mode: "OPAQUE".into(),
            alpha_cutoff: 0.5,
            double_sided: false,
            extensions: Default::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PbrJson {
    pub base_color_factor: [f32; 4],
    pub base_color_texture: Option<TextureRefJson>,
    pub metallic_factor: f32,
    pub roughness_factor: f32,
    pub metallic_roughness_texture: Option<TextureRefJson>,
}

impl Default for PbrJson {
    fn default() -> PbrJson {
        PbrJson { base_color_factor: [1.0; 4], base_color_texture: None, metallic_factor: 1.0, roughness_factor: 1.0, metallic_roughness_texture: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextureRefJson {
    pub index: usize,
    #[serde(default)]
    pub tex_coord: usize,
    #[serde(default = "one")]
    pub scale: f32,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TextureJson {
    pub source: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageJson {
    pub buffer_view: Option<usize>,
    pub uri: Option<String>,
    pub name: Option<String>,
}

/// An animation (a .vrma clip's bone tracks).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnimationJson {
    pub channels: Vec<ChannelJson>,
    pub samplers: Vec<SamplerJson>,
}

#[derive(Debug, Deserialize)]
pub struct ChannelJson {
    pub sampler: usize,
    pub target: ChannelTargetJson,
}

#[derive(Debug, Deserialize)]
pub struct ChannelTargetJson {
    pub node: Option<usize>,
    pub path: String,
}

#[derive(Debug, Deserialize)]
pub struct SamplerJson {
    pub input: usize,
    pub output: usize,
    #[serde(default = "linear")]
    pub interpolation: String,
}

fn linear() -> String {
    "LINEAR".into()
}

/// A .glb file: its JSON and binary chunk. Errors name the file.
pub struct Glb {
    pub path: PathBuf,
    pub json: Json,
    pub bin: Vec<u8>,
}

const MAGIC: &[u8; 4] = b"glTF";
const CHUNK_JSON: u32 = 0x4E4F534A;
const CHUNK_BIN: u32 = 0x004E4942;

impl Glb {
    pub fn read(path: &Path) -> Result<Glb> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Glb::parse(&bytes, path).with_context(|| format!("{} is not a readable glTF binary (.glb/.vrm)", path.display()))
    }

    pub fn parse(bytes: &[u8], path: &Path) -> Result<Glb> {
        let u32_at = |at: usize| -> Result<u32> {
            let b = bytes.get(at..at + 4).with_context(|| format!("the file ends at byte {} inside its header (truncated?)", bytes.len()))?;
            Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
        };
        ensure!(bytes.get(..4) == Some(MAGIC), "it does not start with \"glTF\" (a .gltf text file or another format? export as binary .glb/.vrm)");
        ensure!(u32_at(4)? == 2, "glTF version {} is not 2", u32_at(4)?);
        let total = u32_at(8)? as usize;
        ensure!(total <= bytes.len(), "the header says {total} bytes but the file has {} (truncated)", bytes.len());
        let (mut at, mut json, mut bin) = (12usize, None, Vec::new());
        while at + 8 <= total {
            let (len, kind) = (u32_at(at)? as usize, u32_at(at + 4)?);
            let body = bytes.get(at + 8..at + 8 + len).with_context(|| format!("chunk at byte {at} runs past the end (truncated)"))?;
            match kind {
                CHUNK_JSON => json = Some(body),
                CHUNK_BIN if bin.is_empty() => bin = body.to_vec(),
                _ => {}
            }
            at += 8 + len;
        }
        let json = json.context("no JSON chunk")?;
        let raw: Value = serde_json::from_slice(json).context("its JSON chunk does not parse")?;
        let parsed: Json = serde_path_to_error::deserialize(&raw).map_err(|e| anyhow::anyhow!("glTF JSON at `{}`: {}", e.path(), e.inner()))?;
        for (i, b) in parsed.buffers.iter().enumerate() {
            if let Some(uri) = &b.uri {
                bail!("buffer {i} points outside the file ({uri}); export a self-contained .glb/.vrm");
            }
        }
        Ok(Glb { path: path.to_path_buf(), json: parsed, bin })
    }

    /// The bytes of buffer view `i`.
    pub fn view(&self, i: usize) -> Result<(&[u8], Option<usize>)> {
        let v = self.json.buffer_views.get(i).with_context(|| format!("buffer view {i} does not exist"))?;
        ensure!(v.buffer == 0, "buffer view {i} uses buffer {} (only the GLB's own is read)", v.buffer);
        let bytes = self.bin.get(v.byte_offset..v.byte_offset + v.byte_length).with_context(|| format!("buffer view {i} runs past the binary chunk (truncated file?)"))?;
        Ok((bytes, v.byte_stride))
    }

    /// Accessor `i` as floats, `N` a element (normalized integers scaled to 0..1 or -1..1).
    pub fn floats<const N: usize>(&self, i: usize) -> Result<Vec<[f32; N]>> {
        let a = self.accessor(i)?;
        ensure!(components(&a.kind)? == N, "accessor {i} is {} where {N} components were expected", a.kind);
        let read = |bytes: &[u8], k: usize| -> f32 { component_f32(bytes, a.component_type, k, a.normalized) };
        self.read_elements(i, [0.0; N], |bytes| std::array::from_fn(|k| read(bytes, k)))
    }

    /// Accessor `i` as unsigned integers (indices, joints).
    pub fn uints<const N: usize>(&self, i: usize) -> Result<Vec<[u32; N]>> {
        let a = self.accessor(i)?;
        ensure!(components(&a.kind)? == N, "accessor {i} is {} where {N} components were expected", a.kind);
        ensure!(matches!(a.component_type, 5121 | 5123 | 5125), "accessor {i} holds component type {} where integers were expected", a.component_type);
        self.read_elements(i, [0; N], |bytes| std::array::from_fn(|k| component_u32(bytes, a.component_type, k)))
    }

    fn accessor(&self, i: usize) -> Result<&AccessorJson> {
        self.json.accessors.get(i).with_context(|| format!("accessor {i} does not exist"))
    }

    /// Reads every element of accessor `i` with `one`, applying sparse substitutions.
    fn read_elements<T: Copy>(&self, i: usize, zero: T, one: impl Fn(&[u8]) -> T) -> Result<Vec<T>> {
        let a = self.accessor(i)?;
        let size = component_size(a.component_type)? * components(&a.kind)?;
        let mut out = vec![zero; a.count];
        if let Some(view) = a.buffer_view {
            let (bytes, stride) = self.view(view)?;
            let stride = stride.unwrap_or(size);
            for (n, o) in out.iter_mut().enumerate() {
                let at = a.byte_offset + n * stride;
                let e = bytes.get(at..at + size).with_context(|| format!("accessor {i} element {n} runs past its buffer view (truncated file?)"))?;
                *o = one(e);
            }
        }
        if let Some(s) = &a.sparse {
            let (idx, _) = self.view(s.indices.buffer_view)?;
            let (vals, _) = self.view(s.values.buffer_view)?;
            let isize = component_size(s.indices.component_type)?;
            for k in 0..s.count {
                let at = s.indices.byte_offset + k * isize;
                let target = component_u32(idx.get(at..at + isize).context("sparse indices run past their view")?, s.indices.component_type, 0) as usize;
                let vat = s.values.byte_offset + k * size;
                let value = one(vals.get(vat..vat + size).context("sparse values run past their view")?);
                *out.get_mut(target).with_context(|| format!("accessor {i}: sparse index {target} beyond its {} elements", a.count))? = value;
            }
        }
        Ok(out)
    }

    /// The bytes of image `i` (PNG or JPEG inside the file).
    pub fn image_bytes(&self, i: usize) -> Result<&[u8]> {
        let img = self.json.images.get(i).with_context(|| format!("image {i} does not exist"))?;
        match (img.buffer_view, &img.uri) {
            (Some(v), _) => Ok(self.view(v)?.0),
            (None, Some(uri)) => bail!("image {i} ({uri}) is outside the file; export with textures embedded"),
            (None, None) => bail!("image {i} has no data"),
        }
    }
}

fn components(kind: &str) -> Result<usize> {
    Ok(match kind {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" => 4,
        "MAT4" => 16,
        other => bail!("accessor type {other} is not read"),
    })
}

fn component_size(t: u32) -> Result<usize> {
    Ok(match t {
        5120 | 5121 => 1,
        5122 | 5123 => 2,
        5125 | 5126 => 4,
        other => bail!("component type {other} is not a glTF component type"),
    })
}

fn component_u32(b: &[u8], t: u32, k: usize) -> u32 {
    match t {
        5121 => b[k] as u32,
        5123 => u16::from_le_bytes([b[2 * k], b[2 * k + 1]]) as u32,
        _ => u32::from_le_bytes(b[4 * k..4 * k + 4].try_into().expect("4 bytes")),
    }
}

fn component_f32(b: &[u8], t: u32, k: usize, normalized: bool) -> f32 {
    match t {
        5126 => f32::from_le_bytes(b[4 * k..4 * k + 4].try_into().expect("4 bytes")),
        5120 => {
            let v = b[k] as i8 as f32;
            if normalized { (v / 127.0).max(-1.0) } else { v }
        }
        5122 => {
            let v = i16::from_le_bytes([b[2 * k], b[2 * k + 1]]) as f32;
            if normalized { (v / 32767.0).max(-1.0) } else { v }
        }
        _ => {
            let (v, max) = match t {
                5121 => (b[k] as f32, 255.0),
                5123 => (u16::from_le_bytes([b[2 * k], b[2 * k + 1]]) as f32, 65535.0),
                _ => (u32::from_le_bytes(b[4 * k..4 * k + 4].try_into().expect("4 bytes")) as f32, u32::MAX as f32),
            };
            if normalized { v / max } else { v }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GLB with one VEC3 float accessor of two elements, the second replaced sparsely.
    fn sample() -> Vec<u8> {
        let mut bin: Vec<u8> = [1f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|f| f.to_le_bytes()).collect();
        bin.extend(1u32.to_le_bytes());
        bin.extend([7f32, 8.0, 9.0].iter().flat_map(|f| f.to_le_bytes()));
        let json = serde_json::json!({
            "asset": {"version": "2.0"},
            "buffers": [{"byteLength": bin.len()}],
            "bufferViews": [{"buffer": 0, "byteLength": 24}, {"buffer": 0, "byteOffset": 24, "byteLength": 4}, {"buffer": 0, "byteOffset": 28, "byteLength": 12}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": 2, "type": "VEC3",
                "sparse": {"count": 1, "indices": {"bufferView": 1, "componentType": 5125}, "values": {"bufferView": 2}}}]
        });
        let mut j = serde_json::to_vec(&json).unwrap();
        while j.len() % 4 != 0 {
            j.push(b' ');
        }
        let mut out = Vec::new();
        out.extend(b"glTF");
        out.extend(2u32.to_le_bytes());
        out.extend(((12 + 8 + j.len() + 8 + bin.len()) as u32).to_le_bytes());
        out.extend((j.len() as u32).to_le_bytes());
        out.extend(CHUNK_JSON.to_le_bytes());
        out.extend(&j);
        out.extend((bin.len() as u32).to_le_bytes());
        out.extend(CHUNK_BIN.to_le_bytes());
        out.extend(&bin);
        out
    }

    #[test]
    fn reads_accessors_with_sparse_values() {
        let glb = Glb::parse(&sample(), Path::new("t.glb")).unwrap();
        assert_eq!(glb.floats::<3>(0).unwrap(), vec![[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]);
        assert!(glb.floats::<2>(0).is_err());
    }

    #[test]
    fn a_truncated_file_is_named_as_such() {
        let bytes = sample();
        let e = Glb::parse(&bytes[..bytes.len() - 10], Path::new("t.glb")).err().unwrap();
        assert!(format!("{e:#}").contains("truncated"), "{e:#}");
        let e = Glb::parse(b"{\"asset\":{}}", Path::new("t.gltf")).err().unwrap();
        assert!(format!("{e:#}").contains("glTF"), "{e:#}");
    }
}
