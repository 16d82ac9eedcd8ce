/* webevents tracker: page, track and sampled view events to the webevents endpoint.
 * Plain JavaScript, no build step, no dependencies. Contract: webevents/aws/collector.py.
 * Usage: tracker/README.md. */
(function (root) {
  'use strict';

  var SESSION_GAP_MS = 30 * 60 * 1000; // the models' session_gap_minutes (dbt_project.yml)
  var MAX_BATCH = 500;                 // PutRecords' limit; the endpoint answers 400 above it
  var MAX_QUEUE = 1000;                // events kept while the endpoint is unreachable
  var PREFIX = 'webevents.';

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0;
      return (c === 'x' ? r : (r & 3 | 8)).toString(16);
    });
  }

  function memoryStorage() {
    var data = {};
    return {
      getItem: function (k) { return k in data ? data[k] : null; },
      setItem: function (k, v) { data[k] = String(v); },
      removeItem: function (k) { delete data[k]; }
    };
  }

  function Tracker(options) {
    var o = options || {};
    if (!o.endpoint) throw new Error('webevents: options.endpoint is required');
    this.endpoint = o.endpoint;
    this.appId = o.appId || null;
    this.batchSize = Math.min(o.batchSize || 50, MAX_BATCH);
    this.maxBatchBytes = o.maxBatchBytes || 30000; // under the WAF size rule (32 KB)
    this.flushInterval = o.flushInterval || 60000; // the beacon sends the rest on leave
    this.viewInterval = o.viewInterval || 2000;
    this.viewEvent = o.viewEvent || 'Room View Position'; // what the spatial marts read
    this.maxRetryDelay = o.maxRetryDelay || 60000;
    this.requireConsent = !!o.requireConsent;
    this.respectDoNotTrack = o.respectDoNotTrack !== false;
    this.now = o.now || function () { return Date.now(); };
    this.fetch = o.fetch || (root.fetch && root.fetch.bind(root));
    this.beacon = o.sendBeacon || (root.navigator && root.navigator.sendBeacon &&
      root.navigator.sendBeacon.bind(root.navigator));
    this.setTimer = o.setTimeout || root.setTimeout.bind(root);
    this.storage = o.storage || safeStorage('localStorage');     // ids, consent: per site
    this.queueStorage = o.queueStorage || safeStorage('sessionStorage'); // queue: per tab
    this.consented = !this.requireConsent || this.storage.getItem(PREFIX + 'consent') === 'yes';
    this.dnt = this.respectDoNotTrack && doNotTrack();
    this.queue = this.readQueue();
    this.sending = false;
    this.failures = 0;
    this.retryAt = 0;
    this.timer = null;
    this.viewTimer = null;
    this.stats = {sent: 0, retried: 0, dropped: 0, beacons: 0};
  }

  function safeStorage(name) {
    try {
      var s = root[name];
      s.setItem(PREFIX + 'probe', '1');
      s.removeItem(PREFIX + 'probe');
      return s;
    } catch (e) {
      return memoryStorage(); // storage blocked: ids last for this page only
    }
  }

  function doNotTrack() {
    var n = root.navigator || {};
    return n.doNotTrack === '1' || root.doNotTrack === '1' || n.msDoNotTrack === '1';
  }

  var T = Tracker.prototype;

  T.enabled = function () { return this.consented && !this.dnt; };

  T.setConsent = function (granted) {
    this.consented = !!granted;
    if (granted) {
      this.storage.setItem(PREFIX + 'consent', 'yes');
    } else {
      // withdrawn: forget the ids and whatever was not sent yet
      ['consent', 'anonymousId', 'session'].forEach(function (k) {
        this.storage.removeItem(PREFIX + k);
      }, this);
      this.queue = [];
      this.saveQueue();
    }
  };

  T.anonymousId = function () {
    var id = this.storage.getItem(PREFIX + 'anonymousId');
    if (!id) { id = uuid(); this.storage.setItem(PREFIX + 'anonymousId', id); }
    return id;
  };

  // A session ends after 30 minutes without an event (exactly 30 still continues it).
  T.sessionId = function () {
    var now = this.now();
    var s = null;
    try { s = JSON.parse(this.storage.getItem(PREFIX + 'session')); } catch (e) { s = null; }
    if (!s || !s.id || now - s.last > SESSION_GAP_MS) s = {id: uuid(), started: now};
    s.last = now;
    this.storage.setItem(PREFIX + 'session', JSON.stringify(s));
    return s.id;
  };

  T.pageContext = function () {
    var loc = root.location || {}, doc = root.document || {};
    return {
      page: {url: loc.href, path: loc.pathname, referrer: doc.referrer || '', title: doc.title},
      userAgent: (root.navigator || {}).userAgent,
      library: {name: 'webevents-tracker', version: '1.0.0'}
    };
  };

  T.enqueue = function (event) {
    if (!this.enabled()) return null;
    event.messageId = uuid();
    event.anonymousId = this.anonymousId();
    event.sessionId = this.sessionId();
    if (this.appId) event.appId = this.appId;
    event.timestamp = new Date(this.now()).toISOString();
    event.context = this.pageContext();
    this.queue.push(event);
    if (this.queue.length > MAX_QUEUE) { this.queue.shift(); this.stats.dropped++; }
    this.saveQueue();
    if (this.queue.length >= this.batchSize) this.flush();
    else this.schedule(this.flushInterval);
    return event.messageId;
  };

  T.page = function (name, properties) {
    return this.enqueue({type: 'page', name: name || (root.document || {}).title,
                         properties: properties || {}});
  };

  T.track = function (name, properties) {
    return this.enqueue({type: 'track', event: name, properties: properties || {}});
  };

  // One view event with the viewer's orientation (degrees), e.g. from a 360° viewer.
  T.view = function (coordinates, properties) {
    var p = {};
    var extra = properties || {};
    for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) p[k] = extra[k];
    p.coordinates = {pitch: coordinates.pitch, yaw: coordinates.yaw, hfov: coordinates.hfov};
    return this.track(this.viewEvent, p);
  };

  // Sample the orientation every viewInterval ms while the page is visible.
  T.startViews = function (getCoordinates, properties) {
    var self = this;
    this.stopViews();
    this.viewTimer = root.setInterval(function () {
      if (root.document && root.document.visibilityState === 'hidden') return;
      var c = getCoordinates();
      if (c) self.view(c, typeof properties === 'function' ? properties() : properties);
    }, this.viewInterval);
  };

  T.stopViews = function () {
    if (this.viewTimer) root.clearInterval(this.viewTimer);
    this.viewTimer = null;
  };

  T.readQueue = function () {
    try {
      return JSON.parse(this.queueStorage.getItem(PREFIX + 'queue')) || [];
    } catch (e) {
      return [];
    }
  };

  T.saveQueue = function () {
    if (this.queue.length) this.queueStorage.setItem(PREFIX + 'queue', JSON.stringify(this.queue));
    else this.queueStorage.removeItem(PREFIX + 'queue');
  };

  T.schedule = function (delay) {
    var self = this;
    if (this.timer) return;
    this.timer = this.setTimer(function () { self.timer = null; self.flush(); }, delay);
  };

  // The next batch: up to batchSize events and maxBatchBytes of JSON, sentAt stamped.
  T.takeBatch = function () {
    var batch = [], size = 2, sentAt = new Date(this.now()).toISOString();
    while (this.queue.length && batch.length < this.batchSize) {
      var event = this.queue[0];
      event.sentAt = sentAt;
      var bytes = JSON.stringify(event).length + 1;
      if (batch.length && size + bytes > this.maxBatchBytes) break;
      batch.push(this.queue.shift());
      size += bytes;
    }
    this.saveQueue();
    return batch;
  };

  T.flush = function () {
    if (this.sending || !this.queue.length || !this.enabled() || !this.fetch) return;
    if (this.now() < this.retryAt) return; // backing off; the retry timer flushes
    var self = this, batch = this.takeBatch();
    this.sending = true;
    // text/plain: a CORS-safelisted type, so no preflight request; keepalive outlives the page.
    this.fetch(this.endpoint, {method: 'POST', body: JSON.stringify(batch), keepalive: true,
                               credentials: 'omit', headers: {'Content-Type': 'text/plain'}})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          self.settle(batch, response.status, body);
        });
      }, function () { self.settle(batch, 0, {}); });
  };

  // 200: done. 207: re-send only the events listed in body.retry. 0 (network), 429, 5xx:
  // re-send the batch after a backoff. Other 4xx would fail again: drop.
  T.settle = function (batch, status, body) {
    this.sending = false;
    var retry = [];
    if (status === 207 && body && body.retry instanceof Array) {
      retry = body.retry.map(function (i) { return batch[i]; }).filter(Boolean);
      this.stats.sent += batch.length - retry.length;
    } else if (status === 0 || status === 429 || status >= 500) {
      retry = batch;
    } else if (status >= 200 && status < 300) {
      this.stats.sent += batch.length;
    } else {
      this.stats.dropped += batch.length;
    }
    if (retry.length) {
      this.stats.retried += retry.length;
      this.queue = retry.concat(this.queue);
      this.saveQueue();
      this.failures++;
      var delay = Math.min(this.maxRetryDelay, 1000 * Math.pow(2, this.failures - 1));
      delay = Math.round(delay * (0.5 + Math.random() / 2)); // jitter: clients do not retry in step
      this.retryAt = this.now() + delay;
      var self = this;
      this.setTimer(function () { self.flush(); }, delay);
    } else {
      this.failures = 0;
      this.retryAt = 0;
      if (this.queue.length) this.flush();
    }
  };

  // Page going away: hand everything left to sendBeacon, which the browser delivers after
  // the page is gone. Events the beacon refuses stay stored for the next page.
  T.flushBeacon = function () {
    if (!this.enabled() || !this.beacon) return;
    while (this.queue.length) {
      var batch = this.takeBatch();
      var body = new Blob([JSON.stringify(batch)], {type: 'text/plain'});
      if (!this.beacon(this.endpoint, body)) {
        this.queue = batch.concat(this.queue);
        this.saveQueue();
        return;
      }
      this.stats.beacons++;
    }
  };

  T.listen = function () {
    var self = this;
    root.addEventListener('pagehide', function () { self.flushBeacon(); });
    if (root.document) {
      root.document.addEventListener('visibilitychange', function () {
        if (root.document.visibilityState === 'hidden') self.flushBeacon();
      });
    }
    return this;
  };

  root.webevents = {
    Tracker: Tracker,
    init: function (options) {
      var tracker = new Tracker(options).listen();
      if (tracker.queue.length) tracker.schedule(0); // left over from the previous page
      return tracker;
    },
    SESSION_GAP_MS: SESSION_GAP_MS
  };
  if (typeof module === 'object' && module.exports) module.exports = root.webevents;
})(typeof window !== 'undefined' ? window : globalThis);
