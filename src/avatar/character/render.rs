//! Draws a posed character headless with wgpu on Vulkan: lavapipe (Mesa's CPU driver)
//! on a machine without a GPU, the GPU's own driver where there is one. The CPU has
//! already skinned the vertices (deform.rs); this uploads them, draws opaque, then
//! masked, then blended materials into an RGBA target the size of the frame, and reads
//! back only the rectangle the host covers, as premultiplied pixels for the canvas.

use anyhow::{Context, Result, bail};
use glam::{Mat4, Vec3};
use wgpu::util::DeviceExt;

use super::deform::Vertex;
use super::model::{AlphaMode, Material, Model, Shading, Texture};

pub use crate::config::RenderDevice as DevicePreference;

/// A key, a fill and an ambient light (linear RGB; directions point at the light).
#[derive(Debug, Clone, Copy)]
pub struct Lights {
    pub key_dir: Vec3,
    pub key: [f32; 3],
    pub fill_dir: Vec3,
    pub fill: [f32; 3],
    pub ambient: [f32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GlobalsUniform {
    view_proj: [f32; 16],
    camera: [f32; 4],
    key_dir: [f32; 4],
    key_color: [f32; 4],
    fill_dir: [f32; 4],
    fill_color: [f32; 4],
    ambient: [f32; 4],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MaterialUniform {
    base_color: [f32; 4],
    shade: [f32; 4],
    toon: [f32; 4],
    rim: [f32; 4],
    emissive: [f32; 4],
    pbr: [f32; 4],
}

/// Which pipeline a material draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pass {
    Opaque,
    Mask,
    Blend,
}

/// What a pipeline is specialised for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PipelineKey {
    toon: bool,
    pass: Pass,
    normal_map: bool,
    double_sided: bool,
}

impl PipelineKey {
    fn of(m: &Material) -> PipelineKey {
        PipelineKey {
            toon: matches!(m.shading, Shading::Toon(_)),
            pass: match m.alpha {
                AlphaMode::Blend => Pass::Blend,
                AlphaMode::Mask(_) => Pass::Mask,
                AlphaMode::Opaque => Pass::Opaque,
            },
            normal_map: m.normal_texture.is_some(),
            double_sided: m.double_sided,
        }
    }
}

struct Draw {
    indices: std::ops::Range<u32>,
    material: usize,
    pass: Pass,
    /// Index into Renderer::pipelines.
    pipeline: usize,
}

/// sRGB storage, linear blending: the canvas gets sRGB bytes, exact where the host is
/// opaque (its outline's partial pixels are encoded after premultiplying).
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;
const DEPTH: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

pub struct Renderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pub adapter: String,
    size: (u32, u32),
    /// The multisampled target, resolved into `resolved`; None with one sample.
    msaa: Option<wgpu::TextureView>,
    resolved: wgpu::Texture,
    resolved_view: wgpu::TextureView,
    depth: wgpu::TextureView,
    readback: wgpu::Buffer,
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    draws: Vec<Draw>,
    globals: wgpu::Buffer,
    globals_group: wgpu::BindGroup,
    materials: Vec<wgpu::BindGroup>,
    pipelines: Vec<wgpu::RenderPipeline>,
    pub times: RenderTimes,
}

/// The last frame's GPU stages: upload, draw and copy until done; the copy out of the
/// mapped buffer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderTimes {
    pub draw: std::time::Duration,
    pub read_back: std::time::Duration,
}

/// Bytes a read-back row takes: wgpu copies rows in multiples of 256 bytes.
fn padded_row(width: u32) -> u32 {
    (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor { backends: wgpu::Backends::VULKAN, ..wgpu::InstanceDescriptor::new_without_display_handle() })
}

/// The Vulkan device `want` picks, described, for `avatarcast check`.
pub fn describe_device(want: DevicePreference) -> Result<String> {
    let a = pick_adapter(&instance(), want)?.get_info();
    Ok(format!("{} ({:?}, {})", a.name, a.device_type, a.driver_info))
}

/// The Vulkan adapter `want` asks for; the error says what to install.
fn pick_adapter(instance: &wgpu::Instance, want: DevicePreference) -> Result<wgpu::Adapter> {
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
    let is_cpu = |a: &wgpu::Adapter| a.get_info().device_type == wgpu::DeviceType::Cpu;
    let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
    let mut ranked: Vec<wgpu::Adapter> = adapters.into_iter().filter(|a| want != DevicePreference::Cpu || is_cpu(a)).filter(|a| want != DevicePreference::Gpu || !is_cpu(a)).collect();
    ranked.sort_by_key(|a| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    });
    match ranked.into_iter().next() {
        Some(a) => Ok(a),
        None if names.is_empty() => bail!(
            "no Vulkan device: install Mesa's CPU driver (Debian: apt-get install mesa-vulkan-drivers libvulkan1; scripts/setup.sh does) or a GPU driver with Vulkan"
        ),
        None => bail!("no {want:?} Vulkan device among: {} (set avatar.render.device = \"auto\")", names.join(", ")),
    }
}

impl Renderer {
    pub fn new(model: &Model, width: u32, height: u32, want: DevicePreference) -> Result<Renderer> {
        let adapter = pick_adapter(&instance(), want)?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("avatarcast 3D host"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .with_context(|| format!("cannot open Vulkan device {}", info.name))?;
        // Four samples a pixel smooth the outline; on lavapipe they cost 2.5x the draw.
        let samples = if info.device_type == wgpu::DeviceType::Cpu { 1 } else { 4 };
        // wgpu's default handler panics; a bad frame must not end the stream.
        device.on_uncaptured_error(std::sync::Arc::new(|e| tracing::error!("3D host: Vulkan error: {e}")));
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("host shader"), source: wgpu::ShaderSource::Wgsl(include_str!("shader.wgsl").into()) });
        let (globals_layout, material_layout) = layouts(&device);
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&globals_layout), Some(&material_layout)],
            immediate_size: 0,
        });
        let globals = device.create_buffer(&wgpu::BufferDescriptor { label: None, size: std::mem::size_of::<GlobalsUniform>() as u64, usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });
        let globals_group = device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &globals_layout, entries: &[wgpu::BindGroupEntry { binding: 0, resource: globals.as_entire_binding() }] });
        let materials = material_groups(&device, &queue, &material_layout, model);
        let (draws, keys, index_data, vertex_count) = draws(model);
        let pipelines = keys.iter().map(|k| pipeline(&device, &layout, &shader, *k, samples)).collect();
        let vertices = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("posed vertices"),
            size: (vertex_count * std::mem::size_of::<Vertex>()).max(16) as u64,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some("indices"), contents: bytemuck::cast_slice(&index_data), usage: wgpu::BufferUsages::INDEX });
        let target = |format, samples, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: None,
                size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: samples,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let msaa = (samples > 1).then(|| target(FORMAT, samples, wgpu::TextureUsages::RENDER_ATTACHMENT).create_view(&Default::default()));
        let depth = target(DEPTH, samples, wgpu::TextureUsages::RENDER_ATTACHMENT).create_view(&Default::default());
        let resolved = target(FORMAT, 1, wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC);
        let readback = device.create_buffer(&wgpu::BufferDescriptor { label: Some("read-back"), size: (padded_row(width) * height) as u64, usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });
        Ok(Renderer {
            device,
            queue,
            adapter: format!("{} ({:?}, driver {} {})", info.name, info.device_type, info.driver, info.driver_info),
            size: (width, height),
            msaa,
            resolved_view: resolved.create_view(&Default::default()),
            resolved,
            depth,
            readback,
            vertices,
            indices,
            draws,
            globals,
            globals_group,
            materials,
            pipelines,
            times: RenderTimes::default(),
        })
    }

    /// Draws `vertices` (posed, model order) seen through `view_proj` from `camera`, and
    /// returns the premultiplied RGBA of `rect` = [x, y, w, h] of the frame.
    pub fn render(&mut self, vertices: &[Vertex], view_proj: Mat4, camera: Vec3, lights: &Lights, rect: [u32; 4], out: &mut Vec<u8>) -> Result<()> {
        let [x, y, w, h] = clip_rect(rect, self.size);
        // Draw only the rectangle: the projection is cropped to it, the viewport is its size.
        let crop = crop_matrix([x, y, w, h], self.size);
        let g = GlobalsUniform {
            view_proj: (crop * view_proj).to_cols_array(),
            camera: camera.extend(1.0).into(),
            key_dir: lights.key_dir.normalize().extend(0.0).into(),
            key_color: [lights.key[0], lights.key[1], lights.key[2], 0.0],
            fill_dir: lights.fill_dir.normalize().extend(0.0).into(),
            fill_color: [lights.fill[0], lights.fill[1], lights.fill[2], 0.0],
            ambient: [lights.ambient[0], lights.ambient[1], lights.ambient[2], 0.0],
        };
        self.queue.write_buffer(&self.globals, 0, bytemuck::bytes_of(&g));
        self.queue.write_buffer(&self.vertices, 0, bytemuck::cast_slice(vertices));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let (view, resolve_target, store) = match &self.msaa {
            Some(msaa) => (msaa, Some(&self.resolved_view), wgpu::StoreOp::Discard),
            None => (&self.resolved_view, None, wgpu::StoreOp::Store),
        };
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("host"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target,
                    ops: wgpu::Operations { load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT), store },
                })],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &self.depth,
                    depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Discard }),
                    stencil_ops: None,
                }),
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
            pass.set_scissor_rect(0, 0, w, h);
            pass.set_bind_group(0, &self.globals_group, &[]);
            pass.set_vertex_buffer(0, self.vertices.slice(..));
            pass.set_index_buffer(self.indices.slice(..), wgpu::IndexFormat::Uint32);
            for d in &self.draws {
                pass.set_pipeline(&self.pipelines[d.pipeline]);
                pass.set_bind_group(1, &self.materials[d.material], &[]);
                pass.draw_indexed(d.indices.clone(), 0, 0..1);
            }
        }
        let row = padded_row(w);
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo { texture: &self.resolved, mip_level: 0, origin: wgpu::Origin3d::ZERO, aspect: wgpu::TextureAspect::All },
            wgpu::TexelCopyBufferInfo { buffer: &self.readback, layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(row), rows_per_image: Some(h) } },
            wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
        );
        let drawn = std::time::Instant::now();
        self.queue.submit([encoder.finish()]);
        let slice = self.readback.slice(..(row * h) as u64);
        slice.map_async(wgpu::MapMode::Read, |r| {
            if let Err(e) = r {
                tracing::error!("3D host read-back failed: {e}");
            }
        });
        self.device.poll(wgpu::PollType::wait_indefinitely()).context("the Vulkan device stopped (3D host)")?;
        self.times.draw = drawn.elapsed();
        let read = std::time::Instant::now();
        {
            let data = slice.get_mapped_range().context("3D host read-back not mapped")?;
            out.clear();
            for r in 0..h as usize {
                out.extend_from_slice(&data[r * row as usize..r * row as usize + w as usize * 4]);
            }
        }
        self.readback.unmap();
        self.times.read_back = read.elapsed();
        Ok(())
    }
}

/// `rect` kept inside the frame, at least 1x1.
fn clip_rect([x, y, w, h]: [u32; 4], (fw, fh): (u32, u32)) -> [u32; 4] {
    let x = x.min(fw - 1);
    let y = y.min(fh - 1);
    [x, y, w.clamp(1, fw - x), h.clamp(1, fh - y)]
}

/// Maps the frame's clip space so that pixel rectangle `rect` fills it.
fn crop_matrix([x, y, w, h]: [u32; 4], (fw, fh): (u32, u32)) -> Mat4 {
    let (sx, sy) = (fw as f32 / w as f32, fh as f32 / h as f32);
    let cx = (x as f32 + w as f32 / 2.0) / fw as f32 * 2.0 - 1.0;
    let cy = 1.0 - (y as f32 + h as f32 / 2.0) / fh as f32 * 2.0;
    Mat4::from_scale(Vec3::new(sx, sy, 1.0)) * Mat4::from_translation(Vec3::new(-cx, -cy, 0.0))
}

fn layouts(device: &wgpu::Device) -> (wgpu::BindGroupLayout, wgpu::BindGroupLayout) {
    let uniform = |binding, visibility| wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    };
    let texture = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture { sample_type: wgpu::TextureSampleType::Float { filterable: true }, view_dimension: wgpu::TextureViewDimension::D2, multisampled: false },
        count: None,
    };
    let globals = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &[uniform(0, wgpu::ShaderStages::VERTEX_FRAGMENT)] });
    let material = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: None,
        entries: &[
            uniform(0, wgpu::ShaderStages::FRAGMENT),
            texture(1),
            texture(2),
            wgpu::BindGroupLayoutEntry { binding: 3, visibility: wgpu::ShaderStages::FRAGMENT, ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering), count: None },
        ],
    });
    (globals, material)
}

fn pipeline(device: &wgpu::Device, layout: &wgpu::PipelineLayout, shader: &wgpu::ShaderModule, key: PipelineKey, samples: u32) -> wgpu::RenderPipeline {
    let blend = key.pass == Pass::Blend;
    let flag = |on: bool| on as u8 as f64;
    let constants = [("TOON", flag(key.toon)), ("MASKED", flag(key.pass == Pass::Mask)), ("NORMAL_MAP", flag(key.normal_map))];
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: None,
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[Some(wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<Vertex>() as u64,
                step_mode: wgpu::VertexStepMode::Vertex,
                attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x2],
            })],
        },
        primitive: wgpu::PrimitiveState { cull_mode: if key.double_sided { None } else { Some(wgpu::Face::Back) }, ..Default::default() },
        depth_stencil: Some(wgpu::DepthStencilState {
            format: DEPTH,
            depth_write_enabled: Some(!blend),
            depth_compare: Some(wgpu::CompareFunction::LessEqual),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: wgpu::MultisampleState { count: samples, ..Default::default() },
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some("fs_main"),
            compilation_options: wgpu::PipelineCompilationOptions { constants: &constants, ..Default::default() },
            targets: &[Some(wgpu::ColorTargetState {
                format: FORMAT,
                blend: blend.then_some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Opaque, then masked, then blended primitives (each group in file order, which is
/// how VRM exporters order transparent layers), indices offset into one buffer, and
/// the pipelines they need.
fn draws(model: &Model) -> (Vec<Draw>, Vec<PipelineKey>, Vec<u32>, usize) {
    let fallback = fallback_material();
    let mut draws = Vec::new();
    let mut keys: Vec<PipelineKey> = Vec::new();
    let mut indices = Vec::new();
    let mut base = 0u32;
    for p in model.meshes.iter().flat_map(|m| &m.primitives) {
        let start = indices.len() as u32;
        indices.extend(p.indices.iter().map(|i| i + base));
        let (material, m) = match model.materials.get(p.material) {
            Some(m) => (p.material, m),
            None => (model.materials.len(), &fallback),
        };
        let key = PipelineKey::of(m);
        let pipeline = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        draws.push(Draw { indices: start..indices.len() as u32, material, pass: key.pass, pipeline });
        base += p.positions.len() as u32;
    }
    draws.sort_by_key(|d| d.pass);
    (draws, keys, indices, base as usize)
}

/// What a primitive without a material is drawn with: glTF's default, grey.
fn fallback_material() -> Material {
    Material { name: String::new(), base_color: [0.8, 0.8, 0.8, 1.0], base_texture: None, normal_texture: None, emissive: [0.0; 3], alpha: AlphaMode::Opaque, double_sided: false, shading: Shading::Pbr { metallic: 0.0, roughness: 0.8 } }
}

fn material_uniform(m: &Material) -> MaterialUniform {
    let cutoff = match m.alpha {
        AlphaMode::Mask(c) => c,
        _ => 0.0,
    };
    let blend = (m.alpha == AlphaMode::Blend) as u8 as f32;
    let normal_scale = m.normal_texture.map_or(0.0, |(_, s)| s);
    match m.shading {
        Shading::Toon(t) => MaterialUniform {
            base_color: m.base_color,
            shade: [t.shade[0], t.shade[1], t.shade[2], t.shift],
            toon: [t.toony, t.rim_power, t.rim_lift, 0.0],
            rim: [t.rim[0], t.rim[1], t.rim[2], cutoff],
            emissive: [m.emissive[0], m.emissive[1], m.emissive[2], blend],
            pbr: [0.0, 1.0, normal_scale, 0.0],
        },
        Shading::Pbr { metallic, roughness } => MaterialUniform {
            base_color: m.base_color,
            shade: [0.0; 4],
            toon: [0.0; 4],
            rim: [0.0, 0.0, 0.0, cutoff],
            emissive: [m.emissive[0], m.emissive[1], m.emissive[2], blend],
            pbr: [metallic, roughness, normal_scale, 0.0],
        },
    }
}

fn upload(device: &wgpu::Device, queue: &wgpu::Queue, t: &Texture, srgb: bool) -> wgpu::TextureView {
    let format = if srgb { wgpu::TextureFormat::Rgba8UnormSrgb } else { wgpu::TextureFormat::Rgba8Unorm };
    device
        .create_texture_with_data(
            queue,
            &wgpu::TextureDescriptor {
                label: None,
                size: wgpu::Extent3d { width: t.width, height: t.height, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            &t.rgba,
        )
        .create_view(&Default::default())
}

/// One bind group per material, plus a plain grey one for primitives without.
fn material_groups(device: &wgpu::Device, queue: &wgpu::Queue, layout: &wgpu::BindGroupLayout, model: &Model) -> Vec<wgpu::BindGroup> {
    let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
        address_mode_u: wgpu::AddressMode::Repeat,
        address_mode_v: wgpu::AddressMode::Repeat,
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        ..Default::default()
    });
    let white = upload(device, queue, &Texture { width: 1, height: 1, rgba: vec![255; 4] }, true);
    let flat = upload(device, queue, &Texture { width: 1, height: 1, rgba: vec![128, 128, 255, 255] }, false);
    let fallback = fallback_material();
    model
        .materials
        .iter()
        .chain(std::iter::once(&fallback))
        .map(|m| {
            let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents: bytemuck::bytes_of(&material_uniform(m)), usage: wgpu::BufferUsages::UNIFORM });
            let base = m.base_texture.map(|t| upload(device, queue, &model.textures[t], true));
            let normal = m.normal_texture.map(|(t, _)| upload(device, queue, &model.textures[t], false));
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout,
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(base.as_ref().unwrap_or(&white)) },
                    wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(normal.as_ref().unwrap_or(&flat)) },
                    wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::Sampler(&sampler) },
                ],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_maps_its_rectangle_onto_the_whole_clip_space() {
        let c = crop_matrix([100, 200, 300, 400], (720, 1280));
        // The rectangle's top-left corner in the frame's NDC goes to (-1, 1).
        let tl = glam::Vec4::new(100.0 / 720.0 * 2.0 - 1.0, 1.0 - 200.0 / 1280.0 * 2.0, 0.5, 1.0);
        let br = glam::Vec4::new(400.0 / 720.0 * 2.0 - 1.0, 1.0 - 600.0 / 1280.0 * 2.0, 0.5, 1.0);
        assert!((c * tl).truncate().abs_diff_eq(Vec3::new(-1.0, 1.0, 0.5), 1e-5));
        assert!((c * br).truncate().abs_diff_eq(Vec3::new(1.0, -1.0, 0.5), 1e-5));
    }

    #[test]
    fn rows_are_padded_to_256_bytes() {
        assert_eq!(padded_row(64), 256);
        assert_eq!(padded_row(65), 512);
    }
}
