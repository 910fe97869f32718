package server

import "github.com/gatehouse/gatehouse/internal/access"

// GuardForTest is the server's access guard, so that benchmarks can put a
// bare handler behind it.
func (s *Server) GuardForTest() *access.Guard { return s.guard }
