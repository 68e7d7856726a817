// The 3D host's one shader: MToon-lite for VRM's cartoon look (lit and shade colours
// split at a soft terminator, a fresnel rim) and metallic-roughness PBR for realistic
// characters, lit by a key, a fill and an ambient light. Output is premultiplied
// linear light; the sRGB target encodes it (cheaper on lavapipe than pow() here).

struct Globals {
    view_proj: mat4x4<f32>,
    camera: vec4<f32>,
    key_dir: vec4<f32>,
    key_color: vec4<f32>,
    fill_dir: vec4<f32>,
    fill_color: vec4<f32>,
    ambient: vec4<f32>,
};

struct Material {
    base_color: vec4<f32>,
    // rgb: shade colour; w: shading shift
    shade: vec4<f32>,
    // x: toony, y: rim fresnel power, z: rim lift
    toon: vec4<f32>,
    // rgb: rim colour; w: alpha cutoff
    rim: vec4<f32>,
    // rgb: emissive; w: 1 when the output blends
    emissive: vec4<f32>,
    // x: metallic, y: roughness, z: normal scale
    pbr: vec4<f32>,
};

// Each material's pipeline is specialised, so lavapipe runs no dead branch and keeps
// early depth testing wherever nothing is discarded.
override TOON: bool = true;
override MASKED: bool = false;
override NORMAL_MAP: bool = false;

@group(0) @binding(0) var<uniform> g: Globals;
@group(1) @binding(0) var<uniform> m: Material;
@group(1) @binding(1) var base_tex: texture_2d<f32>;
@group(1) @binding(2) var normal_tex: texture_2d<f32>;
@group(1) @binding(3) var samp: sampler;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) uv: vec2<f32>,
};

@vertex
fn vs_main(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>, @location(2) uv: vec2<f32>) -> VertexOut {
    var o: VertexOut;
    o.clip = g.view_proj * vec4<f32>(position, 1.0);
    o.world = position;
    o.normal = normal;
    o.uv = uv;
    return o;
}

// The normal map's tangent frame from screen-space derivatives (no tangents needed).
fn mapped_normal(n: vec3<f32>, world: vec3<f32>, uv: vec2<f32>) -> vec3<f32> {
    let t = textureSample(normal_tex, samp, uv).xyz * 2.0 - 1.0;
    let dp1 = dpdx(world);
    let dp2 = dpdy(world);
    let duv1 = dpdx(uv);
    let duv2 = dpdy(uv);
    let dp2perp = cross(dp2, n);
    let dp1perp = cross(n, dp1);
    let tangent = dp2perp * duv1.x + dp1perp * duv2.x;
    let bitangent = dp2perp * duv1.y + dp1perp * duv2.y;
    let invmax = inverseSqrt(max(dot(tangent, tangent), dot(bitangent, bitangent)) + 1e-12);
    let scaled = vec3<f32>(t.xy * m.pbr.z, t.z);
    return normalize(tangent * invmax * scaled.x + bitangent * invmax * scaled.y + n * scaled.z);
}

// `shade`: MToon's shade colour; VRoid multiplies it by the base texture, as here.
fn toon(base: vec3<f32>, shade: vec3<f32>, n: vec3<f32>, v: vec3<f32>) -> vec3<f32> {
    let toony = m.toon.x;
    var lit = vec3<f32>(0.0);
    for (var i = 0; i < 2; i++) {
        let l = select(g.fill_dir.xyz, g.key_dir.xyz, i == 0);
        let c = select(g.fill_color.rgb, g.key_color.rgb, i == 0);
        let shading = clamp((dot(n, l) + m.shade.w + 1.0 - toony) / max(2.0 - 2.0 * toony, 1e-3), 0.0, 1.0);
        lit += mix(shade, base, shading) * c;
    }
    let rim = pow(clamp(1.0 - dot(n, v) + m.toon.z, 0.0, 1.0), max(m.toon.y, 1e-3));
    return lit + base * g.ambient.rgb + m.rim.rgb * rim;
}

fn ggx(n: vec3<f32>, v: vec3<f32>, l: vec3<f32>, base: vec3<f32>, metallic: f32, roughness: f32) -> vec3<f32> {
    let h = normalize(v + l);
    let nl = max(dot(n, l), 0.0);
    let nv = max(dot(n, v), 1e-3);
    let nh = max(dot(n, h), 0.0);
    let a = roughness * roughness;
    let a2 = a * a;
    let d = a2 / (3.14159265 * pow(nh * nh * (a2 - 1.0) + 1.0, 2.0));
    let k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    let vis = 1.0 / ((nl * (1.0 - k) + k) * (nv * (1.0 - k) + k) * 4.0);
    let f0 = mix(vec3<f32>(0.04), base, metallic);
    let f = f0 + (1.0 - f0) * pow(1.0 - max(dot(h, v), 0.0), 5.0);
    let diffuse = (1.0 - f) * (1.0 - metallic) * base / 3.14159265;
    return (diffuse + f * d * vis) * nl * 3.14159265;
}

fn pbr(base: vec3<f32>, n: vec3<f32>, v: vec3<f32>) -> vec3<f32> {
    let metallic = m.pbr.x;
    let roughness = clamp(m.pbr.y, 0.04, 1.0);
    var c = ggx(n, v, g.key_dir.xyz, base, metallic, roughness) * g.key_color.rgb;
    c += ggx(n, v, g.fill_dir.xyz, base, metallic, roughness) * g.fill_color.rgb;
    // Sky above, floor below: a cheap hemisphere for the ambient.
    let hemi = mix(0.6, 1.0, n.y * 0.5 + 0.5);
    return c + base * (1.0 - metallic * 0.5) * g.ambient.rgb * hemi;
}

@fragment
fn fs_main(in: VertexOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
    let texel = textureSample(base_tex, samp, in.uv);
    let base = m.base_color * texel;
    if (MASKED && base.a < m.rim.w) {
        discard;
    }
    var n = normalize(in.normal);
    if (!front) {
        n = -n;
    }
    if (NORMAL_MAP) {
        n = mapped_normal(n, in.world, in.uv);
    }
    let v = normalize(g.camera.xyz - in.world);
    var c: vec3<f32>;
    if (TOON) {
        let shade = select(base.rgb * 0.6, m.shade.rgb * texel.rgb, length(m.shade.rgb) > 0.0);
        c = toon(base.rgb, shade, n, v);
    } else {
        c = pbr(base.rgb, n, v);
    }
    c += m.emissive.rgb;
    let alpha = select(1.0, base.a, m.emissive.w > 0.5);
    return vec4<f32>(c * alpha, alpha);
}
