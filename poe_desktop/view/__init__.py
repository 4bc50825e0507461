"""The 3-D view and what draws into it: the view widget, the shaded points item, axes,
camera, view images, the view's menu entries and toolbar, the colour-bar overlay. It
draws what it is given and knows nothing of runs or of the main window."""
