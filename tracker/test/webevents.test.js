// Unit tests of the tracker: node --test tracker/test/ (run by tests/tracker/test_tracker_unit.py).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const webevents = require('../webevents.js');

function storage() {
  const data = new Map();
  return {getItem: (k) => (data.has(k) ? data.get(k) : null),
          setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k), data};
}

// A tracker with a settable clock, in-memory storage, scripted fetch answers and manual timers.
function harness(options = {}, answers = []) {
  const h = {clock: Date.parse('2026-11-24T10:00:00Z'), posts: [], timers: [], beacons: []};
  h.storage = options.storage || storage();
  h.queueStorage = storage();
  h.tracker = new webevents.Tracker(Object.assign({
    endpoint: 'http://collector.test/events', appId: 'tour-viewer', batchSize: 3,
    now: () => h.clock, storage: h.storage, queueStorage: h.queueStorage,
    setTimeout: (fn, delay) => h.timers.push({fn, delay}),
    sendBeacon: (url, blob) => { h.beacons.push(blob); return h.beaconAnswer !== false; },
    fetch: (url, init) => {
      h.posts.push({url, init, events: JSON.parse(init.body)});
      const [status, body] = answers.shift() || [200, {}];
      if (status === 'reject') return Promise.reject(new TypeError('network down'));
      return Promise.resolve({status, json: () => Promise.resolve(body)});
    },
  }, options));
  h.settled = () => new Promise((resolve) => setImmediate(resolve));
  return h;
}

test('every event carries ids, session, timestamps and page context', () => {
  const h = harness({batchSize: 10});
  h.tracker.page('Tour', {spaceId: 'sp-1'});
  h.tracker.track('Room Entered', {roomId: 'r-1'});
  h.tracker.view({pitch: -10, yaw: 45.5, hfov: 80}, {roomId: 'r-1'});
  const [page, track, view] = h.tracker.queue;
  assert.equal(page.type, 'page');
  assert.equal(page.name, 'Tour');
  assert.equal(track.event, 'Room Entered');
  assert.equal(view.event, 'Room View Position');
  assert.deepEqual(view.properties, {roomId: 'r-1', coordinates: {pitch: -10, yaw: 45.5, hfov: 80}});
  assert.equal(new Set([page.messageId, track.messageId, view.messageId]).size, 3);
  assert.equal(new Set([page.anonymousId, track.anonymousId, view.anonymousId]).size, 1);
  assert.equal(page.sessionId, view.sessionId);
  assert.equal(page.appId, 'tour-viewer');
  assert.equal(page.timestamp, '2026-11-24T10:00:00.000Z');
  assert.equal(page.context.library.name, 'webevents-tracker');
});

test('a gap of more than 30 minutes starts a new session, exactly 30 does not', () => {
  const h = harness({batchSize: 100});
  const first = h.tracker.sessionId();
  h.clock += 30 * 60 * 1000;
  assert.equal(h.tracker.sessionId(), first);
  h.clock += 30 * 60 * 1000 + 1;
  assert.notEqual(h.tracker.sessionId(), first);
});

test('the anonymous id survives a new tracker on the same storage', () => {
  const h = harness();
  const id = h.tracker.anonymousId();
  const again = harness({storage: h.storage});
  assert.equal(again.tracker.anonymousId(), id);
});

test('a batch is sent when it is full, as text/plain, with sentAt', async () => {
  const h = harness();
  h.tracker.track('a');
  h.tracker.track('b');
  assert.equal(h.posts.length, 0);
  assert.equal(h.timers[0].delay, 60000); // the time trigger is armed
  h.clock += 1500;
  h.tracker.track('c');
  assert.equal(h.posts.length, 1);
  const post = h.posts[0];
  assert.equal(post.init.headers['Content-Type'], 'text/plain');
  assert.equal(post.init.keepalive, true);
  assert.deepEqual(post.events.map((e) => e.event), ['a', 'b', 'c']);
  assert.ok(post.events.every((e) => e.sentAt === '2026-11-24T10:00:01.500Z'));
  await h.settled();
  assert.equal(h.tracker.stats.sent, 3);
  assert.equal(h.tracker.queue.length, 0);
});

test('a waiting batch is sent when the flush timer fires', () => {
  const h = harness();
  h.tracker.track('a');
  h.timers.shift().fn();
  assert.equal(h.posts.length, 1);
});

test('after a 207 only the events it lists are sent again', async () => {
  const h = harness({}, [[207, {accepted: 1, failed: 2, retry: [0, 2]}], [200, {accepted: 2}]]);
  ['a', 'b', 'c'].forEach((name) => h.tracker.track(name));
  await h.settled();
  const first = h.posts[0].events;
  assert.deepEqual(h.tracker.queue.map((e) => e.messageId), [first[0].messageId, first[2].messageId]);
  h.clock += h.timers.pop().delay;
  h.tracker.flush();
  await h.settled();
  assert.deepEqual(h.posts[1].events.map((e) => e.event), ['a', 'c']);
  assert.equal(h.tracker.stats.sent, 3);
});

test('throttling and network errors retry the whole batch with growing backoff', async () => {
  const h = harness({}, [[503, {retry: 'all'}], ['reject'], [200, {}]]);
  ['a', 'b', 'c'].forEach((name) => h.tracker.track(name));
  await h.settled();
  const first = h.timers.pop().delay;
  h.tracker.flush(); // too early: still backing off
  assert.equal(h.posts.length, 1);
  h.clock += first;
  h.tracker.flush();
  await h.settled();
  const second = h.timers.pop().delay;
  assert.ok(first >= 500 && first <= 1000, `first backoff ${first}`);
  assert.ok(second >= 1000 && second <= 2000, `second backoff ${second}`);
  h.clock += second;
  h.tracker.flush();
  await h.settled();
  assert.equal(h.posts.length, 3);
  const ids = (post) => post.events.map((e) => e.messageId);
  assert.deepEqual(ids(h.posts[2]), ids(h.posts[0]));
  assert.equal(h.tracker.stats.sent, 3);
});

test('a batch the endpoint rejects as invalid is dropped, not retried forever', async () => {
  const h = harness({}, [[400, {message: 'Invalid request body'}]]);
  ['a', 'b', 'c'].forEach((name) => h.tracker.track(name));
  await h.settled();
  assert.equal(h.tracker.queue.length, 0);
  assert.equal(h.tracker.stats.dropped, 3);
});

test('batches stay under the byte limit of the WAF size rule', () => {
  const h = harness({batchSize: 500, maxBatchBytes: 2000});
  for (let i = 0; i < 20; i++) h.tracker.queue.push({type: 'track', event: 'x'.repeat(200)});
  const batch = h.tracker.takeBatch();
  assert.ok(JSON.stringify(batch).length <= 2000);
  assert.equal(batch.length + h.tracker.queue.length, 20);
});

test('on page hide the queue goes out by sendBeacon; a refused beacon keeps it', () => {
  const h = harness({batchSize: 100});
  h.tracker.track('a');
  h.tracker.track('b');
  h.beaconAnswer = false;
  h.tracker.flushBeacon();
  assert.equal(h.tracker.queue.length, 2);
  h.beaconAnswer = true;
  h.tracker.flushBeacon();
  assert.equal(h.tracker.queue.length, 0);
  assert.equal(h.beacons.at(-1).type, 'text/plain');
  assert.equal(h.tracker.stats.beacons, 1);
});

test('without consent nothing is queued or stored; withdrawing it forgets the ids', () => {
  const h = harness({requireConsent: true});
  assert.equal(h.tracker.track('a'), null);
  assert.equal(h.storage.data.size, 0);
  h.tracker.setConsent(true);
  assert.ok(h.tracker.track('a'));
  h.tracker.setConsent(false);
  assert.equal(h.tracker.queue.length, 0);
  assert.equal(h.storage.getItem('webevents.anonymousId'), null);
});

test('Do Not Track silences the tracker unless told to ignore it', () => {
  Object.defineProperty(globalThis, 'navigator', {value: {doNotTrack: '1'}, configurable: true});
  try {
    assert.equal(harness().tracker.track('a'), null);
    assert.ok(harness({respectDoNotTrack: false}).tracker.track('a'));
  } finally {
    delete globalThis.navigator;
  }
});
