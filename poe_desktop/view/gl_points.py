"""Shaded spherical points: a GLScatterPlotItem whose point sprites are drawn as lit
spheres (sphere impostors), as Polyscope and napari (shading='spherical') draw them.

Each sprite is a disc in which the fragment shader rebuilds the sphere's normal from
`gl_PointCoord`, lights it with a headlight (a light that moves with the camera: ambient,
diffuse and a little specular), and writes the depth of the sphere's surface, so that
overlapping spheres cut into each other where they really meet. Sizes are in pixels
(`pxMode=True`, pyqtgraph's default) or in world units (`pxMode=False`: a point shrinks
with distance). Options: `shading` (off: today's flat discs), `fog` (a depth cue toward
the background colour), and `contrast_ratio`, a floor on each colour's contrast with
the background (on a dark background a colour under it is lifted toward white at the
same hue, so pure blue or black stay visible; on a light one, a colour too light is
darkened).

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
DEFAULT_CONTRAST = 3.0  # WCAG's floor for graphics that must be seen
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


def _median_shade() -> float:
    """The lighting factor of a sprite's median pixel (by area), the figure the contrast
    floor uses in shaded mode: half of the disc is at least this bright."""
    xy = np.stack(np.meshgrid(np.linspace(-1, 1, 201), np.linspace(-1, 1, 201)), -1)
    r2 = (xy ** 2).sum(-1)
    inside = r2 <= 1.0
    normal = np.concatenate([xy[inside], np.sqrt(1.0 - r2[inside])[:, None]], axis=1)
    diffuse = np.clip(normal @ LIGHT_DIRECTION, 0.0, None)
    return float(np.median(AMBIENT + (1.0 - AMBIENT) * diffuse))


MEDIAN_SHADE = _median_shade()


# Below this background luminance white contrasts more than black: colours are lifted
# there; on lighter backgrounds they are darkened instead.
DARK_BACKGROUND_LUMINANCE = math.sqrt(1.05 * 0.05) - 0.05


def luminance_bounds(background_rgb, ratio: float, shaded: bool) -> tuple[float, float]:
    """The range of relative luminance a base colour is kept in so that it keeps `ratio`
    against the background: (floor, 1) on a dark background, (0, ceiling) on a light one,
    (0, 1) when the ratio cannot be had. On a dark background in shaded mode the floor is
    high enough that the median lit pixel keeps the ratio (lighting only darkens, which on
    a light background only adds contrast)."""
    lb = float(relative_luminance(background_rgb))
    if ratio <= 1.0:
        return 0.0, 1.0
    if lb <= DARK_BACKGROUND_LUMINANCE:
        floor = ratio * (lb + 0.05) - 0.05
        if floor >= 1.0:
            return 0.0, 1.0
        if shaded:  # lighting scales the sRGB value; luminance follows about as its 2.2 power
            floor /= MEDIAN_SHADE ** 2.2
        return float(min(floor, 1.0)), 1.0
    ceiling = (lb + 0.05) / ratio - 0.05
    return (0.0, float(ceiling)) if ceiling > 0.0 else (0.0, 1.0)


def fit_contrast(rgb, background_rgb, ratio: float) -> np.ndarray:
    """An sRGB colour in [0, 1] moved, at its own hue, just far enough from the background's
    lightness to keep `ratio` against it (the shader does the same per point)."""
    low, high = luminance_bounds(background_rgb, ratio, shaded=False)
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
attribute vec4 a_position;
attribute vec4 a_color;
attribute float a_size;
varying vec4 v_color;
varying vec3 v_center;  // the sphere's centre in eye space
varying float v_radius; // its radius in eye-space units

void main() {
    vec4 eye = u_modelview * a_position;
    gl_Position = u_projection * eye;
    // pixels per eye-space unit at this depth (perspective: x_ndc = P00 x / w)
    float px_per_unit = u_projection[0][0] * 0.5 * u_viewport_width / max(gl_Position.w, 1e-6);
    float diameter_px = u_world_size > 0.5 ? a_size * px_per_unit : a_size * u_pixel_scale;
    gl_PointSize = max(diameter_px, 1.0);
    v_radius = 0.5 * diameter_px / px_per_unit;
    v_center = eye.xyz;
    v_color = a_color;
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
uniform vec2 u_luminance;       // the range base colours are kept in (contrast floor)
uniform vec3 u_light;           // toward the light, eye space
uniform float u_ambient;
uniform float u_specular;
uniform float u_shininess;
uniform vec3 u_fog_color;
uniform vec3 u_fog;             // near depth, far depth, strength (0: no fog)
varying vec4 v_color;
varying vec3 v_center;
varying float v_radius;

vec3 to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}
vec3 to_srgb(vec3 c) {
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

// The colour at its own hue with its luminance in u_luminance: darker (all channels
// scaled alike); or brighter (scaled alike until the brightest one is full), then toward
// white.
vec3 within_range(vec3 c) {
    vec3 lin = to_linear(clamp(c, 0.0, 1.0));
    float lum = dot(lin, vec3(0.2126, 0.7152, 0.0722));
    if (lum > u_luminance.y) return to_srgb(lin * (u_luminance.y / lum));
    if (lum >= u_luminance.x) return c;
    float peak = max(max(lin.r, lin.g), lin.b);
    if (peak > 0.0) {
        lin *= min(u_luminance.x / max(lum, 1e-6), 1.0 / peak);
        lum = dot(lin, vec3(0.2126, 0.7152, 0.0722));
    }
    if (lum < u_luminance.x) lin = mix(lin, vec3(1.0), (u_luminance.x - lum) / (1.0 - lum));
    return to_srgb(lin);
}

void main() {
    vec2 xy = 2.0 * gl_PointCoord - 1.0;
    xy.y = -xy.y;  // gl_PointCoord grows downward; eye-space y grows upward
    float r2 = dot(xy, xy);
    if (r2 > 1.0) discard;
    vec3 color = within_range(v_color.rgb);
    vec3 surface = v_center;
    if (u_shading > 0.5) {
        vec3 normal = vec3(xy, sqrt(1.0 - r2));
        float diffuse = max(dot(normal, u_light), 0.0);
        vec3 halfway = normalize(u_light + vec3(0.0, 0.0, 1.0));
        float highlight = u_specular * pow(max(dot(normal, halfway), 0.0), u_shininess);
        color = color * (u_ambient + (1.0 - u_ambient) * diffuse) + vec3(highlight);
        surface += v_radius * normal;
    }
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
    with `set_options` so the view repaints. The fog and the contrast floor follow the
    view's background colour (dark: colours too dark are lifted; light: colours too
    light are darkened); the fog's depth range follows the camera's distance."""

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
        GL.glUniform1f(uniform("u_pixel_scale"), float(getattr(view, "render_scale", 1.0)))
        GL.glUniform1f(uniform("u_shading"), 1.0 if self.shading else 0.0)
        GL.glUniform2f(uniform("u_luminance"),
                       *luminance_bounds(background, self.contrast_ratio, self.shading))
        GL.glUniform3f(uniform("u_light"), *LIGHT_DIRECTION)
        GL.glUniform1f(uniform("u_ambient"), AMBIENT)
        GL.glUniform1f(uniform("u_specular"), SPECULAR)
        GL.glUniform1f(uniform("u_shininess"), SHININESS)
        GL.glUniform3f(uniform("u_fog_color"), *background)
        distance = float(view.opts["distance"])
        GL.glUniform3f(uniform("u_fog"), distance, distance + FOG_DEPTH,
                       FOG_STRENGTH if self.fog else 0.0)
