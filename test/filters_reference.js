// Runs pose-detection 2.1.3's own compiled filters (dist/shared/filters) on a JSON job read
// from stdin and prints their outputs as JSON: the reference test/test_filters.py compares to.
// Usage: node filters_reference.js <pose-detection package dir> < job.json
'use strict';
const path = require('path');
const dist = path.join(process.argv[2], 'dist', 'shared', 'filters');
const {OneEuroFilter} = require(path.join(dist, 'one_euro_filter.js'));
const {KeypointsOneEuroFilter} = require(path.join(dist, 'keypoints_one_euro_filter.js'));
const {LowPassFilter} = require(path.join(dist, 'low_pass_filter.js'));

const job = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
if (job.scalar) {
  const f = new OneEuroFilter(job.scalar.config);
  out.scalar = job.scalar.steps.map(([v, t, s]) => f.apply(v, t, s));
}
if (job.lowpass) {
  const f = new LowPassFilter(job.lowpass.alpha);
  out.lowpass = job.lowpass.steps.map(([v, a, th]) =>
    th === null ? f.applyWithAlpha(v, a) : f.applyWithAlpha(v, a, th));
}
if (job.keypoints) {
  const f = new KeypointsOneEuroFilter(job.keypoints.config);
  out.keypoints = job.keypoints.steps.map(([points, t, scale]) => {
    const kps = points.map(([x, y]) => ({x, y, score: 1}));
    return f.apply(kps, t, scale).map((k) => [k.x, k.y]);
  });
}
process.stdout.write(JSON.stringify(out));
