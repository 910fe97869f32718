// Package layering holds no code: its test enforces how Gatehouse's
// packages may depend on each other (STYLE.md "Shape").
package layering
