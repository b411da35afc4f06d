package api

import "github.com/portico-dev/portico/services/api/storage"

// withWatchCache puts the watch cache in front of a resource's store
// when the service has one (Deps.WatchCache); it runs until Close.
func withWatchCache[T storage.Object](env kindEnv, s *storage.Store[T]) storage.Interface[T] {
	if env.watchCache == nil {
		return s
	}
	c := storage.NewCache(s, *env.watchCache)
	*env.stops = append(*env.stops, c.Stop)
	return c
}
