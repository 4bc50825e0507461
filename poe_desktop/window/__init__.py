"""The main window and everything that wires it: menus, setup, saved state and settings,
the panels' configuration, the status bar, help, theme, fitting small screens, the
problems dialog, opening files, and the display that routes frames to the view, the
timeline and the plots. The only layer that knows the main window."""
