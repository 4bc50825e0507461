"""Shaded spherical points: a GLScatterPlotItem whose point sprites are drawn as lit
spheres (sphere impostors), as Polyscope and napari (shading='spherical') draw them.

Each sprite is a disc in which the fragment shader rebuilds the sphere's normal from
`gl_PointCoord`, lights it with a headlight (a light that moves with the camera: ambient,
diffuse and a little specular), and writes the depth of the sphere's surface, so that
overlapping spheres cut into each other where they really meet. Sizes are in pixels
(`pxMode=True`, pyqtgraph's default) or in world units (`pxMode=False`: a point shrinks
with distance). Options: `shading` (off: today's flat discs), `fog` (a depth cue toward
the background colour), and `contrast_ratio`: a point whose colour has less contrast than
this with the background (black or deep blue on dark, white on light) gets a thin rim at
its edge in a contrasting tone (light on a dark background, dark on a light one), the
stronger the nearer its colour is to the background's lightness. The view never changes a
point's colour: inside the rim a point shows its data colour, up to the lighting.

pyqtgraph's own items compile one program per class and per context family; so does
this one, with one GLSL source that compiles as `#version 120` or `#version 140`
(pyqtgraph's own choice by context version).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from OpenGL.GL import shaders
from PySide6.QtGui import QOpenGLContext, QSurfaceFormat

# The headlight comes from a little above and left of the eye, so the highlight sits off
# the sprite's centre and the sphere reads as round rather than as a bright target.
LIGHT_DIRECTION = np.array([-0.35, 0.45, 1.0]) / np.linalg.norm([-0.35, 0.45, 1.0])
AMBIENT = 0.35
SPECULAR = 0.35
SHININESS = 32.0
DEFAULT_CONTRAST = 3.0  # WCAG's floor for graphics that must be seen: no rim at or above it
# The rim: this many pixels wide (times the image scale), at most this share of the
# point's radius (small points keep most of their colour), in this tone on a dark
# background (and its mirror, 1 - it, on a light one).
RIM_PIXELS = 1.5
RIM_SHARE = 0.35
RIM_TONE = 0.8
# Fog starts at the depth of the camera's centre (the cloud's middle) and thickens over
# the target sphere's radius behind it: the near half of the cloud keeps its true
# colours, the far half recedes, up to this share of the background colour.
FOG_DEPTH = 0.5
FOG_STRENGTH = 0.7
LUMA = np.array([0.2126, 0.7152, 0.0722])


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def relative_luminance(rgb) -> np.ndarray:
    """WCAG relative luminance of sRGB colours in [0, 1] (last axis: r, g, b)."""
    return srgb_to_linear(rgb) @ LUMA


def contrast_ratio(rgb_a, rgb_b) -> np.ndarray:
    """WCAG contrast ratio (1 to 21) between two sRGB colours in [0, 1]."""
    la, lb = relative_luminance(rgb_a), relative_luminance(rgb_b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


# Below this background luminance white contrasts more than black: fit_contrast lifts
# colours there and the rim is light; on lighter backgrounds they are darkened, the rim dark.
DARK_BACKGROUND_LUMINANCE = math.sqrt(1.05 * 0.05) - 0.05


def is_dark(background_rgb) -> bool:
    """Whether white contrasts more than black with this sRGB background."""
    return float(relative_luminance(background_rgb)) <= DARK_BACKGROUND_LUMINANCE


def rim_tone(background_rgb) -> tuple[float, float, float]:
    """The rim's sRGB tone on this background: light on dark, dark on light."""
    tone = RIM_TONE if is_dark(background_rgb) else 1.0 - RIM_TONE
    return tone, tone, tone


def rim_strength(rgb, background_rgb, ratio: float = DEFAULT_CONTRAST) -> np.ndarray:
    """How much of the rim tone a point of colour `rgb` gets at its edge (the shader's
    sum): 1 when it has no contrast with the background, 0 at `ratio` and above."""
    contrast = contrast_ratio(np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0),
                              background_rgb)
    return np.clip((ratio - contrast) / max(ratio - 1.0, 1e-6), 0.0, 1.0)


def luminance_bounds(background_rgb, ratio: float) -> tuple[float, float]:
    """The range of relative luminance a colour is kept in so that it keeps `ratio`
    against the background: (floor, 1) on a dark background, (0, ceiling) on a light one,
    (0, 1) when the ratio cannot be had (for `fit_contrast`)."""
    lb = float(relative_luminance(background_rgb))
    if ratio <= 1.0:
        return 0.0, 1.0
    if lb <= DARK_BACKGROUND_LUMINANCE:
        floor = ratio * (lb + 0.05) - 0.05
        return (float(floor), 1.0) if floor < 1.0 else (0.0, 1.0)
    ceiling = (lb + 0.05) / ratio - 0.05
    return (0.0, float(ceiling)) if ceiling > 0.0 else (0.0, 1.0)


def fit_contrast(rgb, background_rgb, ratio: float) -> np.ndarray:
    """An sRGB colour in [0, 1] moved, at its own hue, just far enough from the background's
    lightness to keep `ratio` against it. For colours that are not data (the axes' labels
    and arrows, the plots' series): the points' colours are never moved (they get a rim)."""
    low, high = luminance_bounds(background_rgb, ratio)
    lin = srgb_to_linear(np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0))
    lum = float(lin @ LUMA)
    if lum > high:
        lin = lin * (high / lum)
    elif lum < low:
        peak = lin.max()
        if peak > 0.0:
            lin = lin * min(low / max(lum, 1e-6), 1.0 / peak)
            lum = float(lin @ LUMA)
        if lum < low:
            lin = lin + (1.0 - lin) * (low - lum) / (1.0 - lum)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


_VERTEX = """
#if __VERSION__ >= 130
#define attribute in
#define varying out
#endif
uniform mat4 u_modelview;
uniform mat4 u_projection;
uniform float u_viewport_width;  // pixels
uniform float u_world_size;      // 1: sizes in world units, 0: in pixels
uniform float u_pixel_scale;     // pixel sizes times this (images rendered at n x)
uniform vec4 u_rim;              // width px, share of the radius, background luminance, ratio
attribute vec4 a_position;
attribute vec4 a_color;
attribute float a_size;
varying vec4 v_color;
varying vec3 v_center;  // the sphere's centre in eye space
varying float v_radius; // its radius in eye-space units
varying float v_rim_px; // the rim's width in pixels
varying float v_radius_px;
varying float v_rim;    // the rim's strength: 1 for the background's own lightness, 0 from
                        // u_rim.w's contrast up

float luminance(vec3 c) {
    vec3 lin = mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
    return dot(lin, vec3(0.2126, 0.7152, 0.0722));
}

void main() {
    vec4 eye = u_modelview * a_position;
    gl_Position = u_projection * eye;
    // pixels per eye-space unit at this depth (perspective: x_ndc = P00 x / w)
    float px_per_unit = u_projection[0][0] * 0.5 * u_viewport_width / max(gl_Position.w, 1e-6);
    float diameter_px = u_world_size > 0.5 ? a_size * px_per_unit : a_size * u_pixel_scale;
    float size_px = max(diameter_px, 1.0);
    gl_PointSize = size_px;
    v_radius = 0.5 * diameter_px / px_per_unit;
    v_center = eye.xyz;
    v_color = a_color;
    v_radius_px = 0.5 * size_px;
    v_rim_px = min(u_rim.x, u_rim.y * v_radius_px);
    float lum = luminance(clamp(a_color.rgb, 0.0, 1.0));
    float ratio = (max(lum, u_rim.z) + 0.05) / (min(lum, u_rim.z) + 0.05);
    v_rim = clamp((u_rim.w - ratio) / max(u_rim.w - 1.0, 1e-6), 0.0, 1.0);
}
"""

_FRAGMENT = """
#ifdef GL_ES
precision mediump float;
#endif
#if __VERSION__ >= 130
#define varying in
out vec4 fragColor;
#else
#define fragColor gl_FragColor
#endif
uniform mat4 u_projection;
uniform float u_shading;        // 1: lit spheres, 0: flat discs
uniform vec3 u_rim_color;       // the rim's tone: light on a dark background, dark on light
uniform vec3 u_light;           // toward the light, eye space
uniform float u_ambient;
uniform float u_specular;
uniform float u_shininess;
uniform vec3 u_fog_color;
uniform vec3 u_fog;             // near depth, far depth, strength (0: no fog)
varying vec4 v_color;
varying vec3 v_center;
varying float v_radius;
varying float v_rim_px;
varying float v_radius_px;
varying float v_rim;

void main() {
    vec2 xy = 2.0 * gl_PointCoord - 1.0;
    xy.y = -xy.y;  // gl_PointCoord grows downward; eye-space y grows upward
    float r2 = dot(xy, xy);
    if (r2 > 1.0) discard;
    vec3 color = clamp(v_color.rgb, 0.0, 1.0);  // the data colour, never changed
    vec3 surface = v_center;
    if (u_shading > 0.5) {
        vec3 normal = vec3(xy, sqrt(1.0 - r2));
        float diffuse = max(dot(normal, u_light), 0.0);
        vec3 halfway = normalize(u_light + vec3(0.0, 0.0, 1.0));
        float highlight = u_specular * pow(max(dot(normal, halfway), 0.0), u_shininess);
        color = color * (u_ambient + (1.0 - u_ambient) * diffuse) + vec3(highlight);
        surface += v_radius * normal;
    }
    // the rim: an outline drawn over the sphere's edge (antialiased over a pixel), so a
    // colour near the background's lightness keeps a visible edge
    float from_edge = (1.0 - sqrt(r2)) * v_radius_px;
    float edge = clamp(v_rim_px + 0.5 - from_edge, 0.0, 1.0);
    color = mix(min(color, vec3(1.0)), u_rim_color, edge * v_rim);
    vec4 clip = u_projection * vec4(surface, 1.0);
    gl_FragDepth = 0.5 * clip.z / clip.w + 0.5;
    float fog = u_fog.z * clamp((-surface.z - u_fog.x) / max(u_fog.y - u_fog.x, 1e-6), 0.0, 1.0);
    fragColor = vec4(mix(min(color, vec3(1.0)), u_fog_color, fog), v_color.a);
}
"""


def _compatibility_profile(context: QOpenGLContext) -> bool:
    fmt = context.format()
    if fmt.profile() == QSurfaceFormat.OpenGLContextProfile.CompatibilityProfile:
        return True
    return fmt.profile() == QSurfaceFormat.OpenGLContextProfile.NoProfile and \
        fmt.version() <= (2, 1)


class ShadedPointsItem(gl.GLScatterPlotItem):
    """A GLScatterPlotItem (same `setData(pos=, color=, size=, pxMode=)`) drawn as lit
    spheres. `shading`, `fog` and `contrast_ratio` are plain attributes; change them
    with `set_options` so the view repaints. The fog and the rim follow the view's
    background colour (the rim is light on dark, dark on light; a point's colour itself
    is never changed); the fog's depth range follows the camera's distance."""

    _sphere_program = None  # one per class: the views share GL resources (view3d.py)

    def __init__(self, parentItem=None, shading: bool = True, fog: bool = True,
                 contrast_ratio: float = DEFAULT_CONTRAST, **kwds) -> None:
        self.shading, self.fog, self.contrast_ratio = shading, fog, contrast_ratio
        super().__init__(parentItem=parentItem, **kwds)

    def set_options(self, shading: bool | None = None, fog: bool | None = None,
                    contrast_ratio: float | None = None) -> None:
        if shading is not None:
            self.shading = bool(shading)
        if fog is not None:
            self.fog = bool(fog)
        if contrast_ratio is not None:
            self.contrast_ratio = float(contrast_ratio)
        self.update()

    @classmethod
    def sphere_program(cls):
        if ShadedPointsItem._sphere_program is not None:
            return ShadedPointsItem._sphere_program
        context = QOpenGLContext.currentContext()
        version = context.format().version()
        if context.isOpenGLES():
            header = "#version 300 es\n" if version >= (3, 0) else "#version 100\n"
        else:
            header = "#version 140\n" if version >= (3, 1) else "#version 120\n"
        program = shaders.compileProgram(
            shaders.compileShader([header, _VERTEX], GL.GL_VERTEX_SHADER),
            shaders.compileShader([header, _FRAGMENT], GL.GL_FRAGMENT_SHADER))
        for location, name in enumerate(("a_position", "a_color", "a_size")):
            GL.glBindAttribLocation(program, location, name)
        GL.glLinkProgram(program)  # the bindings take effect at link time
        ShadedPointsItem._sphere_program = program
        return program

    def paint(self) -> None:
        view = self.view()
        if self.pos is None or len(self.pos) == 0 or view is None:
            return
        self.setupGLState()
        self._upload_dirty()
        context = QOpenGLContext.currentContext()
        if not context.isOpenGLES():
            if _compatibility_profile(context):
                GL.glEnable(GL.GL_POINT_SPRITE)  # gl_PointCoord needs it there
            GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
        enabled = self._bind_attributes()
        program = self.sphere_program()
        with program:
            self._set_uniforms(program, view)
            GL.glDrawArrays(GL.GL_POINTS, 0, len(self.pos))
        for location in enabled:
            GL.glDisableVertexAttribArray(location)

    def _upload_dirty(self) -> None:
        dirty = type(self.dirty_bits)
        for flag, vbo, data in ((dirty.POSITION, self.m_vbo_position, self.pos),
                                (dirty.COLOR, self.m_vbo_color, self.color),
                                (dirty.SIZE, self.m_vbo_size, self.size)):
            if flag in self.dirty_bits:
                self.upload_vbo(vbo, data)
        self.dirty_bits = dirty(0)

    def _bind_attributes(self) -> list[int]:
        """Positions always come from their buffer; colour and size from theirs when they
        are per-point arrays, else as one constant value."""
        enabled = [0]
        self.m_vbo_position.bind()
        GL.glVertexAttribPointer(0, 3, GL.GL_FLOAT, False, 0, None)
        self.m_vbo_position.release()
        for location, vbo, value, width in ((1, self.m_vbo_color, self.color, 4),
                                            (2, self.m_vbo_size, self.size, 1)):
            if isinstance(value, np.ndarray):
                vbo.bind()
                GL.glVertexAttribPointer(location, width, GL.GL_FLOAT, False, 0, None)
                vbo.release()
                enabled.append(location)
            elif width == 4:
                GL.glVertexAttrib4f(location, *value)
            else:
                GL.glVertexAttrib1f(location, float(value))
        for location in enabled:
            GL.glEnableVertexAttribArray(location)
        return enabled

    def _set_uniforms(self, program, view) -> None:
        def uniform(name: str):
            return GL.glGetUniformLocation(program, name)

        matrices = (("u_modelview", self.modelViewMatrix()),
                    ("u_projection", self.projectionMatrix()))
        for name, matrix in matrices:
            GL.glUniformMatrix4fv(uniform(name), 1, False,
                                  np.array(matrix.data(), dtype=np.float32))
        background = np.asarray(view.opts["bgcolor"][:3], dtype=np.float64)
        viewport = GL.glGetIntegerv(GL.GL_VIEWPORT)
        GL.glUniform1f(uniform("u_viewport_width"), float(viewport[2]))
        GL.glUniform1f(uniform("u_world_size"), 0.0 if self.pxMode else 1.0)
        scale = float(getattr(view, "render_scale", 1.0))
        GL.glUniform1f(uniform("u_pixel_scale"), scale)
        GL.glUniform1f(uniform("u_shading"), 1.0 if self.shading else 0.0)
        GL.glUniform4f(uniform("u_rim"), RIM_PIXELS * scale, RIM_SHARE,
                       float(relative_luminance(background)), float(self.contrast_ratio))
        GL.glUniform3f(uniform("u_rim_color"), *rim_tone(background))
        GL.glUniform3f(uniform("u_light"), *LIGHT_DIRECTION)
        GL.glUniform1f(uniform("u_ambient"), AMBIENT)
        GL.glUniform1f(uniform("u_specular"), SPECULAR)
        GL.glUniform1f(uniform("u_shininess"), SHININESS)
        GL.glUniform3f(uniform("u_fog_color"), *background)
        distance = float(view.opts["distance"])
        GL.glUniform3f(uniform("u_fog"), distance, distance + FOG_DEPTH,
                       FOG_STRENGTH if self.fog else 0.0)
