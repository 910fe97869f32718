// Package layering holds no code: its test enforces how Gatehouse's
// packages may depend on each other (docs/ARCHITECTURE.md "Layers").
package layering
