// Theme choice: "system" follows prefers-color-scheme; "light"/"dark" are stored in
// localStorage and set as data-theme on <html> (globals.css reads it) before first paint.

export type ThemeChoice = "system" | "light" | "dark";

export const THEME_STORAGE_KEY = "lockdeck-theme";

/** Inline script for <head>: applies a stored choice before the browser paints. */
export const THEME_SCRIPT = `(function(){try{var t=localStorage.getItem(${JSON.stringify(
  THEME_STORAGE_KEY,
)});if(t==="light"||t==="dark")document.documentElement.setAttribute("data-theme",t)}catch(e){}})()`;
