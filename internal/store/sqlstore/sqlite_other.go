//go:build !linux && !darwin

package sqlstore

import "errors"

// diagnose finds nothing where file access cannot be checked.
func diagnose(string) string { return "" }

func freeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }
