/*! firewatch fw-map.js: fire points drawn on one canvas from compact columnar arrays,
 *  with lazy popups, screen-grid clustering where points overlap, a day slider, a legend and
 *  a heat overlay.  Part of firewatch (MIT licence).  Needs Leaflet 1.9 (and Leaflet.heat for
 *  FW.Heat).  Python side: firewatch/publish/maps/.
 *
 *  Why not one L.circleMarker per point: 100,000 Leaflet objects take seconds to build; typed
 *  arrays decoded from base64 and drawn in one canvas pass take tens of milliseconds, and a
 *  popup is only built for the point that is clicked.
 */
(function (window, L) {
  'use strict';

  var FW = window.FW = window.FW || {};
  FW.layers = FW.layers || [];

  var TYPES = {
    u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array
  };

  /** Decode {t: type, b: base64 little-endian bytes} into a typed array. */
  function decode(col) {
    if (!col || !col.b) { return null; }
    var bin = window.atob(col.b), n = bin.length, u8 = new Uint8Array(n);
    for (var i = 0; i < n; i++) { u8[i] = bin.charCodeAt(i); }
    var T = TYPES[col.t];
    return T === Uint8Array ? u8 : new T(u8.buffer);
  }
  FW.decode = decode;

  var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  FW.esc = esc;

  /** Degrees-minutes-seconds, as bulletins write coordinates. */
  function dms(v, pos, neg) {
    var h = v < 0 ? neg : pos;
    v = Math.abs(v);
    var d = Math.floor(v), mf = (v - d) * 60, m = Math.floor(mf), s = (mf - m) * 60;
    if (s >= 59.95) { s = 0; m += 1; }
    if (m >= 60) { m = 0; d += 1; }
    return d + '°' + (m < 10 ? '0' : '') + m + '′' + (s < 9.95 ? '0' : '') + s.toFixed(1) + '″' + h;
  }
  FW.dms = dms;

  FW.Points = L.Layer.extend({
    options: { pane: 'fwPoints', radius: null, cluster: null },

    initialize: function (data, options) {
      L.setOptions(this, options);
      var n = this._n = data.n, i;
      this._d = data;
      var lat = decode(data.lat), lon = decode(data.lon), s = data.scale;
      this._lat = new Float64Array(n);
      this._lon = new Float64Array(n);
      // Web-mercator position in world units [0, 1): projecting once here makes every redraw
      // a multiply-add per point.
      this._wx = new Float64Array(n);
      this._wy = new Float64Array(n);
      var D = Math.PI / 180, MAXLAT = 85.0511287798;
      for (i = 0; i < n; i++) {
        var la = lat[i] / s, lo = lon[i] / s;
        this._lat[i] = la;
        this._lon[i] = lo;
        var lc = Math.max(Math.min(la, MAXLAT), -MAXLAT) * D;
        this._wx[i] = 0.5 + lo / 360;
        this._wy[i] = 0.5 - Math.log(Math.tan(Math.PI / 4 + lc / 2)) / (2 * Math.PI);
      }
      this._cls = decode(data.cls) || new Uint8Array(n);
      this._st = decode(data.st) || new Uint8Array(n);
      this._fields = [];
      for (i = 0; i < data.fields.length; i++) {
        this._fields.push({ f: data.fields[i], v: decode(data.fields[i].v) });
      }
      this._day = null;
      if (data.day) {
        if (data.day.field !== undefined) {
          // The day of a point is a function of its (dictionary-coded) acquisition time.
          var tv = this._fields[data.day.field].v, map = data.day.map;
          this._day = new Uint16Array(n);
          for (i = 0; i < n; i++) { this._day[i] = map[tv[i]]; }
        } else {
          this._day = decode(data.day);
        }
      }
      this._clsOn = data.classes.map(function () { return true; });
      this._stOn = data.statuses.map(function () { return true; });
      this._mode = 'cum';
      this._dayK = data.days ? data.days.length - 1 : 0;
      this._mask = new Uint8Array(n);
      this._sx = new Float32Array(n);
      this._sy = new Float32Array(n);
      this._si = new Int32Array(n);
      this._m = 0;
      this._clusters = [];
      this._stats = { total: n, shown: 0, drawn: 0, markers: 0, clusters: 0, clustered: 0 };
      this._refilter();
      FW.layers.push(this);
    },

    // ---- filtering ---------------------------------------------------------------------------
    _refilter: function () {
      var n = this._n, mask = this._mask, day = this._day, cls = this._cls, st = this._st;
      var co = this._clsOn, so = this._stOn, mode = this._mode, k = this._dayK, c = 0;
      for (var i = 0; i < n; i++) {
        var ok = co[cls[i]] && so[st[i]];
        if (ok && day) {
          ok = mode === 'day' ? day[i] === k : mode === 'cum' ? day[i] <= k : true;
        }
        mask[i] = ok ? 1 : 0;
        c += mask[i];
      }
      this._stats.shown = c;
      if (this._map) { this._reset(); }
      this.fire('fwfilter', { shown: c });
    },

    /** Show days up to k ('cum'), only day k ('day') or every day ('all'). */
    setDay: function (mode, k) {
      this._mode = mode;
      if (k !== undefined) { this._dayK = k; }
      this._refilter();
      return this;
    },
    setClass: function (idx, on) { this._clsOn[idx] = !!on; this._refilter(); return this; },
    setStatus: function (idx, on) { this._stOn[idx] = !!on; this._refilter(); return this; },
    stats: function () { return L.extend({ mode: this._mode, day: this._dayK }, this._stats); },

    /** Points per day and per class among all points (for the slider bars and legend). */
    dayCounts: function () {
      var out = new Array(this._d.days ? this._d.days.length : 0).fill(0);
      if (this._day) { for (var i = 0; i < this._n; i++) { out[this._day[i]]++; } }
      return out;
    },
    countBy: function (arr, size) {
      var out = new Array(size).fill(0), mask = this._mask;
      for (var i = 0; i < this._n; i++) { if (mask[i]) { out[arr[i]]++; } }
      return out;
    },
    latlngs: function () {
      var out = [], mask = this._mask;
      for (var i = 0; i < this._n; i++) { if (mask[i]) { out.push([this._lat[i], this._lon[i]]); } }
      return out;
    },
    getBounds: function () {
      return L.latLngBounds([this._d.bounds[0], this._d.bounds[1]]);
    },

    // ---- drawing -----------------------------------------------------------------------------
    onAdd: function (map) {
      var pane = map.getPane(this.options.pane);
      if (!pane) {
        pane = map.createPane(this.options.pane);
        pane.style.zIndex = 450;  // above boundaries (400), below markers and popups
        pane.style.pointerEvents = 'none';
      }
      this._canvas = L.DomUtil.create('canvas', 'fw-points leaflet-zoom-hide', pane);
      map.on('moveend viewreset resize', this._reset, this);
      map.on('click', this._onClick, this);
      map.on('mousemove', this._onMove, this);
      this._reset();
    },

    onRemove: function (map) {
      L.DomUtil.remove(this._canvas);
      map.off('moveend viewreset resize', this._reset, this);
      map.off('click', this._onClick, this);
      map.off('mousemove', this._onMove, this);
      this._m = 0;
      this._clusters = [];
      this._stats.drawn = this._stats.markers = this._stats.clusters = this._stats.clustered = 0;
      this._publish();
    },

    _radius: function (zoom) {
      if (this.options.radius) { return this.options.radius; }
      return zoom < 7 ? 4 : zoom < 10 ? 5 : 6.5;
    },

    _reset: function () {
      var map = this._map;
      if (!map) { return; }
      var size = map.getSize(), dpr = window.devicePixelRatio || 1, cv = this._canvas;
      var tl = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(cv, tl);
      cv.width = Math.round(size.x * dpr);
      cv.height = Math.round(size.y * dpr);
      cv.style.width = size.x + 'px';
      cv.style.height = size.y + 'px';
      var ctx = cv.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      this._draw(ctx, size, tl);
    },

    _draw: function (ctx, size, tl) {
      var map = this._map, zoom = map.getZoom(), scale = 256 * Math.pow(2, zoom);
      var po = map.getPixelOrigin(), ox = po.x + tl.x, oy = po.y + tl.y;
      var W = size.x, H = size.y, r = this._radius(zoom), pad = r + 2;
      var n = this._n, mask = this._mask, wx = this._wx, wy = this._wy;
      var sx = this._sx, sy = this._sy, si = this._si, m = 0, i, k;
      for (i = 0; i < n; i++) {
        if (!mask[i]) { continue; }
        var x = wx[i] * scale - ox, y = wy[i] * scale - oy;
        if (x < -pad || y < -pad || x > W + pad || y > H + pad) { continue; }
        sx[m] = x; sy[m] = y; si[m] = i; m++;
      }
      var drawn = m, clusters = [], clustered = 0, cl = this.options.cluster;
      if (cl && zoom <= cl.maxZoom && m >= cl.minCount) {
        // Screen-grid clustering anchored to world pixels (stable while panning): only cells
        // holding at least minCount points become a bubble; the rest stay single points.
        var cell = cl.cellPx, gx0 = Math.floor(ox / cell), gy0 = Math.floor(oy / cell);
        var cols = Math.ceil(W / cell) + 3, rows = Math.ceil(H / cell) + 3;
        var counts = new Int32Array(cols * rows), cellOf = new Int32Array(m);
        for (k = 0; k < m; k++) {
          var c = (Math.floor((sy[k] + oy) / cell) - gy0 + 1) * cols +
                  (Math.floor((sx[k] + ox) / cell) - gx0 + 1);
          cellOf[k] = c;
          counts[c]++;
        }
        var cid = new Int32Array(cols * rows).fill(-1), w = 0;
        for (k = 0; k < m; k++) {
          var cc = cellOf[k];
          if (counts[cc] >= cl.minCount) {
            var id = cid[cc];
            if (id < 0) {
              id = cid[cc] = clusters.length;
              clusters.push({ x: 0, y: 0, n: 0, lat: 0, lon: 0 });
            }
            var b = clusters[id], p = si[k];
            b.x += sx[k]; b.y += sy[k]; b.lat += this._lat[p]; b.lon += this._lon[p]; b.n++;
          } else {
            sx[w] = sx[k]; sy[w] = sy[k]; si[w] = si[k]; w++;
          }
        }
        m = w;
        for (k = 0; k < clusters.length; k++) {
          var q = clusters[k];
          q.x /= q.n; q.y /= q.n; q.lat /= q.n; q.lon /= q.n;
          q.r = 9 + 4 * Math.log(q.n) / Math.LN10 * 2;
          clustered += q.n;
        }
      }
      this._m = m;
      this._clusters = clusters;
      this._r = r;
      // Points arrive sorted by (class, status), so one path per style run.
      var cls = this._cls, st = this._st, C = this._d.classes, S = this._d.statuses;
      var TAU = 2 * Math.PI, cur = -1;
      function flush() {
        if (cur < 0) { return; }
        ctx.fill();
        ctx.stroke();
      }
      for (k = 0; k < m; k++) {
        var j = si[k], sty = cls[j] * 256 + st[j];
        if (sty !== cur) {
          flush();
          cur = sty;
          var cs = C[cls[j]], ss = S[st[j]];
          ctx.beginPath();
          ctx.fillStyle = cs.fill;
          ctx.globalAlpha = 1;
          ctx.strokeStyle = ss.stroke;
          ctx.lineWidth = ss.weight;
          ctx.setLineDash(ss.dash || []);
        }
        ctx.moveTo(sx[k] + r, sy[k]);
        ctx.arc(sx[k], sy[k], r, 0, TAU);
      }
      flush();
      ctx.setLineDash([]);
      for (k = 0; k < clusters.length; k++) {
        var z = clusters[k];
        ctx.beginPath();
        ctx.arc(z.x, z.y, z.r, 0, TAU);
        ctx.fillStyle = 'rgba(215, 48, 31, 0.78)';
        ctx.strokeStyle = '#fff';
        ctx.lineWidth = 2;
        ctx.fill();
        ctx.stroke();
        ctx.fillStyle = '#fff';
        ctx.font = 'bold 11px sans-serif';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(String(z.n), z.x, z.y);
      }
      L.extend(this._stats, {
        drawn: drawn, markers: m, clusters: clusters.length, clustered: clustered
      });
      this._publish();
    },

    /** Counters on the map element, for people with devtools and for the browser tests. */
    _publish: function () {
      if (!this._map) { return; }
      var el = this._map.getContainer(), s = this._stats;
      el.setAttribute('data-fw-total', s.total);
      el.setAttribute('data-fw-shown', s.shown);
      el.setAttribute('data-fw-drawn', s.drawn);
      el.setAttribute('data-fw-markers', s.markers);
      el.setAttribute('data-fw-clusters', s.clusters);
      el.setAttribute('data-fw-clustered', s.clustered);
      el.setAttribute('data-fw-mode', this._mode);
      el.setAttribute('data-fw-day', this._d.days ? this._d.days[this._dayK] : '');
    },

    // ---- interaction -------------------------------------------------------------------------
    _hit: function (p) {
      var best = -1, bd = (this._r + 4) * (this._r + 4), sx = this._sx, sy = this._sy;
      for (var k = 0; k < this._m; k++) {
        var dx = sx[k] - p.x, dy = sy[k] - p.y, d = dx * dx + dy * dy;
        if (d <= bd) { bd = d; best = k; }
      }
      if (best >= 0) { return { point: this._si[best] }; }
      for (var c = 0; c < this._clusters.length; c++) {
        var q = this._clusters[c], ex = q.x - p.x, ey = q.y - p.y;
        if (ex * ex + ey * ey <= q.r * q.r) { return { cluster: q }; }
      }
      return null;
    },

    _onMove: function (e) {
      var h = this._hit(e.containerPoint);
      this._map.getContainer().style.cursor = h ? 'pointer' : '';
    },

    _onClick: function (e) {
      var h = this._hit(e.containerPoint);
      if (!h) { return; }
      if (h.cluster) {
        this._map.setView([h.cluster.lat, h.cluster.lon], this._map.getZoom() + 2);
        return;
      }
      this.openPopup(h.point);
    },

    /** Open the popup of point i (its content is built now, from the columnar arrays). */
    openPopup: function (i) {
      L.popup({ maxWidth: 380, className: 'fw-popup-wrap' })
        .setLatLng([this._lat[i], this._lon[i]])
        .setContent(this.popupHtml(i))
        .openOn(this._map);
      return this;
    },

    value: function (f, v, i) {
      switch (f.kind) {
        case 'dict':
          // A field of a group (village -> code, chiefs) maps the group's index to its entry.
          return f.ref !== undefined ? f.dict[f.map[this._fields[f.ref].v[i]]] : f.dict[v[i]];
        case 'num':
          if (v[i] === f.na) { return ''; }
          return (v[i] / f.scale).toFixed(f.digits) + (f.unit || '');
        case 'class': return this._d.classes[this._cls[i]].label;
        case 'status': return this._d.statuses[this._st[i]].label;
        case 'dms':
          return dms(this._lat[i], 'N', 'S') + ' ' + dms(this._lon[i], 'E', 'W') + ' (' +
            this._lat[i].toFixed(5) + ', ' + this._lon[i].toFixed(5) + ')';
        default: return '';
      }
    },

    popupHtml: function (i) {
      var out = ['<div class="fw-popup"><table>'], sec = null;
      for (var k = 0; k < this._fields.length; k++) {
        var f = this._fields[k].f;
        if (f.sec) { sec = f.sec; }
        if (f.kind === 'index') { continue; }
        var val = this.value(f, this._fields[k].v, i);
        if (val === '' || val === null || val === undefined) { continue; }
        if (sec) {
          // A section title only above a section that has something to show.
          out.push('<tr class="fw-sec"><td colspan="2">' + esc(sec) + '</td></tr>');
          sec = null;
        }
        out.push('<tr data-key="' + esc(f.key) + '"><th>' + esc(f.label) + '</th><td>' +
          esc(val) + '</td></tr>');
      }
      out.push('</table></div>');
      return out.join('');
    }
  });

  FW.points = function (data, options) { return new FW.Points(data, options); };

  /** Heat overlay of the points currently shown (follows the slider and legend filters). */
  FW.Heat = L.Layer.extend({
    initialize: function (points, options) { this._pts = points; this._o = options || {}; },
    onAdd: function (map) {
      this._heat = L.heatLayer(this._pts.latlngs(), this._o);
      map.addLayer(this._heat);
      this._pts.on('fwfilter', this._update, this);
    },
    onRemove: function (map) {
      this._pts.off('fwfilter', this._update, this);
      map.removeLayer(this._heat);
      this._heat = null;
    },
    _update: function () { if (this._heat) { this._heat.setLatLngs(this._pts.latlngs()); } }
  });

  /** Legend: classes (fill colour) and review status (outline); ticking hides/shows them. */
  FW.Legend = L.Control.extend({
    options: { position: 'bottomright', title: '', notes: [] },
    initialize: function (points, options) { L.setOptions(this, options); this._pts = points; },
    onAdd: function () {
      var d = this._pts._d, self = this;
      var div = L.DomUtil.create('div', 'fw-legend leaflet-bar');
      var html = [];
      if (this.options.title) { html.push('<div class="fw-legend-title">' + esc(this.options.title) + '</div>'); }
      function rows(list, kind) {
        // Most important first (the styles are listed in drawing order).
        for (var i = list.length - 1; i >= 0; i--) {
          var it = list[i];
          if (!it.present) { continue; }
          var sw = kind === 'cls'
            ? '<span class="fw-sw" style="background:' + it.fill + '"></span>'
            : '<span class="fw-sw fw-sw-ring" style="border-color:' + it.stroke +
              ';border-width:' + Math.max(1, it.weight) + 'px;border-style:' +
              (it.dash ? 'dashed' : 'solid') + '"></span>';
          html.push('<label class="fw-legend-row"><input type="checkbox" checked data-kind="' +
            kind + '" data-idx="' + i + '">' + sw + '<span>' + esc(it.label) +
            '</span> <span class="fw-count" data-kind="' + kind + '" data-idx="' + i + '"></span></label>');
        }
      }
      if (d.classesTitle) { html.push('<div class="fw-legend-sub">' + esc(d.classesTitle) + '</div>'); }
      rows(d.classes, 'cls');
      if (d.statusesTitle) {
        html.push('<div class="fw-legend-sub">' + esc(d.statusesTitle) + '</div>');
        rows(d.statuses, 'st');
      }
      var notes = this.options.notes || [];
      for (var k = 0; k < notes.length; k++) {
        html.push('<div class="fw-legend-note">' + esc(notes[k]) + '</div>');
      }
      div.innerHTML = html.join('');
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div, 'change', function (e) {
        var t = e.target, idx = +t.getAttribute('data-idx');
        if (t.getAttribute('data-kind') === 'cls') { self._pts.setClass(idx, t.checked); }
        else { self._pts.setStatus(idx, t.checked); }
      });
      this._div = div;
      this._pts.on('fwfilter', this._count, this);
      this._count();
      return div;
    },
    onRemove: function () { this._pts.off('fwfilter', this._count, this); },
    _count: function () {
      var p = this._pts, d = p._d;
      var cc = p.countBy(p._cls, d.classes.length), sc = p.countBy(p._st, d.statuses.length);
      var spans = this._div.querySelectorAll('.fw-count');
      for (var i = 0; i < spans.length; i++) {
        var s = spans[i], idx = +s.getAttribute('data-idx');
        s.textContent = '(' + (s.getAttribute('data-kind') === 'cls' ? cc[idx] : sc[idx]) + ')';
      }
    }
  });

  /** Day slider with cumulative / per-day views and a bar per day. */
  FW.TimeSlider = L.Control.extend({
    options: { position: 'bottomleft', labels: {}, intervalMs: 800 },
    initialize: function (points, options) { L.setOptions(this, options); this._pts = points; },
    onAdd: function () {
      var p = this._pts, days = p._d.days, counts = p.dayCounts(), lb = this.options.labels;
      var max = Math.max.apply(null, counts.concat([1])), self = this;
      var div = L.DomUtil.create('div', 'fw-slider leaflet-bar');
      var bars = [];
      for (var i = 0; i < days.length; i++) {
        bars.push('<span class="fw-bar" data-i="' + i + '" title="' + esc(days[i] + ': ' + counts[i]) +
          '" style="height:' + Math.max(1, Math.round(36 * counts[i] / max)) + 'px"></span>');
      }
      div.innerHTML =
        '<div class="fw-slider-head"><b class="fw-day-label"></b> <span class="fw-shown"></span></div>' +
        '<div class="fw-bars">' + bars.join('') + '</div>' +
        '<input class="fw-range" type="range" min="0" max="' + (days.length - 1) + '" step="1" value="' +
        p._dayK + '" aria-label="' + esc(lb.day || 'day') + '">' +
        '<div class="fw-slider-row"><button type="button" class="fw-play" title="' + esc(lb.play || 'play') + '">▶</button>' +
        '<label><input type="radio" name="' + L.stamp(this) + '-mode" value="cum" checked> ' + esc(lb.cum || 'cumulative') + '</label>' +
        '<label><input type="radio" name="' + L.stamp(this) + '-mode" value="day"> ' + esc(lb.day || 'per day') + '</label>' +
        '<label><input type="radio" name="' + L.stamp(this) + '-mode" value="all"> ' + esc(lb.all || 'all days') + '</label></div>';
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      this._range = div.querySelector('.fw-range');
      this._div = div;
      L.DomEvent.on(this._range, 'input change', function () { self._apply(); });
      L.DomEvent.on(div, 'change', function (e) { if (e.target.type === 'radio') { self._apply(); } });
      L.DomEvent.on(div.querySelector('.fw-play'), 'click', this._toggle, this);
      L.DomEvent.on(div.querySelector('.fw-bars'), 'click', function (e) {
        var i = e.target.getAttribute('data-i');
        if (i !== null) { self._range.value = i; self._apply(); }
      });
      p.on('fwfilter', this._label, this);
      this._label();
      return div;
    },
    onRemove: function () { this._stop(); this._pts.off('fwfilter', this._label, this); },
    mode: function () { return this._div.querySelector('input[type=radio]:checked').value; },
    /** Move to day k (and optionally switch mode); what a user does with the mouse. */
    setDay: function (k, mode) {
      this._range.value = k;
      if (mode) { this._div.querySelector('input[value=' + mode + ']').checked = true; }
      this._apply();
    },
    _apply: function () { this._pts.setDay(this.mode(), +this._range.value); },
    _label: function () {
      var p = this._pts, s = p.stats(), days = p._d.days, lb = this.options.labels;
      var k = s.day, mode = s.mode;
      var txt = mode === 'all' ? days[0] + ' … ' + days[days.length - 1]
        : mode === 'cum' ? days[0] + ' … ' + days[k] : days[k];
      this._div.querySelector('.fw-day-label').textContent = txt;
      this._div.querySelector('.fw-shown').textContent = s.shown + ' ' + (lb.points || 'points');
      var bars = this._div.querySelectorAll('.fw-bar');
      for (var i = 0; i < bars.length; i++) {
        var on = mode === 'all' || (mode === 'cum' ? i <= k : i === k);
        bars[i].className = 'fw-bar' + (on ? ' fw-on' : '');
      }
    },
    _toggle: function () { if (this._timer) { this._stop(); } else { this._play(); } },
    _play: function () {
      var self = this, btn = this._div.querySelector('.fw-play');
      if (this.mode() === 'all') { this._div.querySelector('input[value=cum]').checked = true; }
      if (+this._range.value >= +this._range.max) { this._range.value = 0; }
      btn.textContent = '❚❚';
      this._apply();
      this._timer = window.setInterval(function () {
        var k = +self._range.value;
        if (k >= +self._range.max) { self._stop(); return; }
        self._range.value = k + 1;
        self._apply();
      }, this.options.intervalMs);
    },
    _stop: function () {
      if (this._timer) { window.clearInterval(this._timer); this._timer = null; }
      if (this._div) { this._div.querySelector('.fw-play').textContent = '▶'; }
    }
  });

  /** A title box at the top of the map (what, when, how many; synthetic-grid warning). */
  FW.Title = L.Control.extend({
    options: { position: 'topright', html: '' },
    onAdd: function () {
      var div = L.DomUtil.create('div', 'fw-title');
      div.innerHTML = this.options.html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    }
  });

  /** Decode a Google encoded polyline (1e-5 degree) into [lat, lon] pairs. */
  function polyline(str) {
    var i = 0, lat = 0, lon = 0, out = [], n = str.length;
    while (i < n) {
      var b, shift = 0, res = 0;
      do { b = str.charCodeAt(i++) - 63; res |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lat += (res & 1) ? ~(res >> 1) : (res >> 1);
      shift = 0; res = 0;
      do { b = str.charCodeAt(i++) - 63; res |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lon += (res & 1) ? ~(res >> 1) : (res >> 1);
      out.push([lat / 1e5, lon / 1e5]);
    }
    return out;
  }
  FW.polyline = polyline;

  /** Boundary polygons from encoded polylines ({f: [{code, name, g: [[ring, ...]]}]}). */
  FW.boundary = function (data, style, labels) {
    var group = L.featureGroup(), feats = data.f;
    for (var i = 0; i < feats.length; i++) {
      var f = feats[i], polys = [];
      for (var j = 0; j < f.g.length; j++) { polys.push(f.g[j].map(polyline)); }
      var layer = L.polygon(polys, style);
      if (f.name && labels) {
        // Grid maps name every cell on the map (with its point count).
        layer.bindTooltip(esc(f.name), { permanent: true, direction: 'center', className: 'fw-label' });
      } else if (f.name && style.interactive !== false) {
        layer.bindTooltip(esc(f.name) + (f.code ? ' <small>' + esc(f.code) + '</small>' : ''),
          { sticky: true, className: 'fw-tip' });
      }
      group.addLayer(layer);
    }
    return group;
  };

  /** Fit the map to the points (or a fallback box) once the map is built. */
  FW.fit = function (map, points, fallback) {
    var b = points && points._n ? points.getBounds() : L.latLngBounds(fallback);
    // No animation: the view is final when the page has loaded (screenshots, tests, PNGs).
    if (b.getNorthEast().equals(b.getSouthWest())) { map.setView(b.getCenter(), 11, { animate: false }); }
    else { map.fitBounds(b, { padding: [24, 24], maxZoom: 12, animate: false }); }
  };
}(window, L));
