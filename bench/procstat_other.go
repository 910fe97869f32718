//go:build !linux

package main

import "time"

// processCPU is not known here: the report says n/a.
func processCPU(int) (time.Duration, bool) { return 0, false }

// processMemory is not known here: the report says n/a.
func processMemory(int) (rss, peak int64, ok bool) { return 0, 0, false }

// machineBusy is not known here.
func machineBusy() (time.Duration, bool) { return 0, false }

// commandCPU is not known here.
func commandCPU(string) time.Duration { return 0 }
