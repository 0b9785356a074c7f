package gateway

import "runtime/debug"

// Version names the running binary for metrics and traces: the module
// version when it was built from a tagged module, else the commit it was
// built from (a checkout builds as "(devel)"), else "devel". Metrics' build
// information and traces' service.version both use it, so that the two
// always name the same build.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return s.Value
		}
	}
	return "devel"
}
