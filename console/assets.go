package console

// The front-end's built assets, embedded. dist/ is made from web/src by
// `make console` (esbuild through npm); a checkout that has not built it
// embeds only dist/.gitkeep, and /console/ then says how to build it.

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// assetHandler serves /console/: the embedded files, and index.html for
// every path that is not a file (the console's pages are routes of one
// page: /console/views/x, /console/jobs/7).
func assetHandler() http.Handler {
	root, _ := fs.Sub(dist, "dist")
	files := http.FileServerFS(root)
	return http.StripPrefix("/console", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if p != "" && p != "." {
			if st, err := fs.Stat(root, p); err == nil && !st.IsDir() {
				w.Header().Set("Cache-Control", "no-cache")
				files.ServeHTTP(w, r)
				return
			}
		}
		index, err := fs.ReadFile(root, "index.html")
		if err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("The console's assets are not built into this binary: run `make console` (or `make build`), then build streamsqld again.\n"))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(index)
	}))
}
