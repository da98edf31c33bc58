package nexmark

// The freshness curve: p50 and p99 latency against load for chosen
// queries, drawn as a PNG by the harness itself so that a run leaves its
// picture beside its numbers.

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// curveColors are the colors of the queries' lines, in order.
var curveColors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

// PlotFreshness draws, for each named query with at least one latency
// point, its p50 (solid) and p99 (dashed) latency in ms against the load
// in events per second, on a log-scaled latency axis, and writes the PNG
// to path. It reports false when no named query has a point.
func PlotFreshness(path string, r *Report, names []string) (bool, error) {
	type series struct {
		name     string
		x        []float64
		p50, p99 []float64
	}
	var ss []series
	for _, name := range names {
		for _, q := range r.Queries {
			if q.Query != name {
				continue
			}
			s := series{name: name}
			ls := slices.Clone(q.Latency)
			slices.SortFunc(ls, func(a, b *Latency) int { return int(a.Rate - b.Rate) })
			for _, l := range ls {
				if l.Error != "" || l.Samples == 0 {
					continue
				}
				s.x, s.p50, s.p99 = append(s.x, float64(l.Rate)), append(s.p50, math.Max(l.P50Ms, 0.1)), append(s.p99, math.Max(l.P99Ms, 0.1))
			}
			if len(s.x) > 0 {
				ss = append(ss, s)
			}
		}
	}
	if len(ss) == 0 {
		return false, nil
	}
	const w, h, left, right, top, bottom = 900, 560, 80, 30, 50, 70
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)

	xmax, ymin, ymax := 0.0, math.Inf(1), 0.0
	for _, s := range ss {
		xmax = math.Max(xmax, slices.Max(s.x))
		ymin = math.Min(ymin, slices.Min(s.p50))
		ymax = math.Max(ymax, slices.Max(s.p99))
	}
	xmax = niceCeil(xmax * 1.05)
	lo, hi := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if hi <= lo {
		hi = lo + 1
	}
	px := func(x float64) int { return left + int(x/xmax*float64(w-left-right)) }
	py := func(y float64) int {
		return h - bottom - int((math.Log10(y)-lo)/(hi-lo)*float64(h-top-bottom))
	}
	grey, black := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}, color.RGBA{0, 0, 0, 0xff}

	// Axes, grid lines and their labels.
	for d := lo; d <= hi; d++ {
		y := py(math.Pow(10, d))
		line(img, left, y, w-right, y, grey, false)
		text(img, 8, y+4, fmt.Sprintf("%g ms", math.Pow(10, d)), black)
	}
	for i := 0; i <= 5; i++ {
		x := float64(i) * xmax / 5
		line(img, px(x), top, px(x), h-bottom, grey, false)
		text(img, px(x)-20, h-bottom+18, humanRate(x), black)
	}
	line(img, left, h-bottom, w-right, h-bottom, black, false)
	line(img, left, top, left, h-bottom, black, false)
	text(img, w/2-90, h-20, "load (events/s of wall time)", black)
	text(img, left, 25, fmt.Sprintf("freshness: p50 (solid) and p99 (dashed), %d cores, %s", r.Cores, r.Date), black)

	for i, s := range ss {
		c := curveColors[i%len(curveColors)]
		for j := range s.x {
			for _, v := range []float64{s.p50[j], s.p99[j]} {
				dot(img, px(s.x[j]), py(v), c)
			}
			if j > 0 {
				line(img, px(s.x[j-1]), py(s.p50[j-1]), px(s.x[j]), py(s.p50[j]), c, false)
				line(img, px(s.x[j-1]), py(s.p99[j-1]), px(s.x[j]), py(s.p99[j]), c, true)
			}
		}
		lx := w - right - 110
		ly := top + 14 + 18*i
		line(img, lx, ly-4, lx+24, ly-4, c, false)
		text(img, lx+30, ly, s.name, c)
	}

	f, err := os.Create(path)
	if err != nil {
		return false, err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return false, err
	}
	return true, f.Close()
}

// niceCeil rounds v up to a round multiple (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8) of a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// humanRate prints an events/s figure as 0, 200k, 1.5M.
func humanRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case v >= 1e3:
		return fmt.Sprintf("%gk", math.Round(v/1e2)/10)
	}
	return fmt.Sprintf("%g", v)
}

// line draws a one-pixel line (dashed: 6 on, 4 off) by stepping along
// its longer axis.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, dashed bool) {
	n := max(x1-x0, x0-x1, y1-y0, y0-y1)
	for i := 0; i <= n; i++ {
		if dashed && i%10 >= 6 {
			continue
		}
		t := 0.0
		if n > 0 {
			t = float64(i) / float64(n)
		}
		x, y := x0+int(math.Round(t*float64(x1-x0))), y0+int(math.Round(t*float64(y1-y0)))
		img.SetRGBA(x, y, c)
		img.SetRGBA(x, y+1, c)
	}
}

func dot(img *image.RGBA, x, y int, c color.RGBA) {
	for dx := -3; dx <= 3; dx++ {
		for dy := -3; dy <= 3; dy++ {
			if dx*dx+dy*dy <= 9 {
				img.SetRGBA(x+dx, y+dy, c)
			}
		}
	}
}

func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
