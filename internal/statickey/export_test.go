package statickey

// UseLimit exposes the bound of the uses waiting to be written.
const UseLimit = useLimit

// RecordUse notes a use of key id of team as Authenticate does.
func (s *Service) RecordUse(team, id string, u Use) { s.uses.record(team, id, u) }
