// Timeouts, connection failures and retries: against a bare HTTP peer (for answers the Loopai server does not give
// on demand), a closed port, and a real server that comes up while the client backs off.

using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Loopai.Tests
{
    [TestFixture]
    public class NetworkTests
    {
        private static LoopaiClient ClientFor(string url, int? maxRetries = null, TimeSpan? timeout = null)
        {
            return new LoopaiClient("spam-test", new LoopaiClientOptions
            {
                BaseUrl = url,
                ApiKey = "",
                MaxRetries = maxRetries,
                Timeout = timeout,
            });
        }

        private const string Error500 = "{\"error\": {\"code\": \"internal_error\", \"message\": \"internal error\"}}";

        [Test]
        public async Task AServerThatNeverAnswersTimesOutAndTheRequestIsNotSentAgain()
        {
            using (var silent = new Peer(_ => null)) // accepts, reads, never answers
            using (var client = ClientFor(silent.Url, maxRetries: 3, timeout: TimeSpan.FromMilliseconds(300)))
            {
                var clock = Stopwatch.StartNew();
                var error = await Expect.Throws<LoopaiTimeoutException>(() => client.ExecuteAsync(new { text = "hi" }), null, "timeout");
                var elapsed = clock.ElapsedMilliseconds;
                StringAssert.Contains("within 300 ms", error.Message);
                Assert.That(elapsed >= 290, "waited " + elapsed + " ms");
                Assert.That(elapsed < 1500, "a timed-out request may have been carried out, so it is not retried (" + elapsed + " ms)");
                Assert.AreEqual(new[] { "POST /loop-apps/spam-test/execute" }, silent.Requests.ToArray());

                // A per-call timeout wins over the client's.
                clock.Restart();
                await Expect.Throws<LoopaiTimeoutException>(
                    () => client.GetAppAsync(new RequestOptions { Timeout = TimeSpan.FromMilliseconds(50), MaxRetries = 0 }),
                    null, "timeout");
                Assert.That(clock.ElapsedMilliseconds < 280, "the call used its own 50 ms timeout (" + clock.ElapsedMilliseconds + " ms)");
            }
        }

        [Test]
        public async Task AClosedPortIsAConnectionErrorWithTheCause()
        {
            using (var client = ClientFor("http://127.0.0.1:" + Ports.Free(), maxRetries: 0))
            {
                var error = await Expect.Throws<LoopaiConnectionException>(
                    () => client.ExecuteAsync(new { text = "hi" }), null, "connection_error");
                Assert.IsNotNull(error.InnerException);
                Assert.IsTrue(Transport.NotSent(error.InnerException), "a refused connection was never sent: " + error);
            }
        }

        [Test]
        public async Task AServerThatComesUpWhileTheClientBacksOffIsReachedByARetriedExecute()
        {
            var dataDir = DataDir.Create();
            LoopaiServer server = null;
            try
            {
                DataDir.WriteApp(dataDir, "spam-test");
                var port = Ports.Free();
                using (var client = ClientFor("http://127.0.0.1:" + port, maxRetries: 8))
                {
                    var clock = Stopwatch.StartNew();
                    // The port is closed when the call starts; the server comes up on it while the client backs off.
                    var starting = Task.Delay(500).ContinueWith(_ => server = new LoopaiServer(dataDir, null, port));
                    var result = await client.ExecuteAsync(new { text = "free prize" });
                    await starting;
                    Assert.AreEqual("spam", (string)result.Output);
                    Assert.That(clock.ElapsedMilliseconds >= 500);
                }
            }
            finally
            {
                if (server != null) server.Dispose();
                DataDir.Remove(dataDir);
            }
        }

        [Test]
        public async Task ACallFailsOverToTheNextServerOnARefusedConnectionOrA503AndStaysThere()
        {
            var dataDir = DataDir.Create();
            try
            {
                DataDir.WriteApp(dataDir, "spam-test");
                const string notSynced = "{\"error\": {\"code\": \"not_synced\", \"message\": \"not synced yet\"}}";
                using (var live = new LoopaiServer(dataDir))
                using (var busy = new Peer(_ => Peer.Response(503, "Service Unavailable", notSynced)))
                {
                    live.WaitReady(TimeSpan.FromSeconds(20));
                    var dead = "http://127.0.0.1:" + Ports.Free();
                    using (var client = new LoopaiClient("spam-test", new LoopaiClientOptions
                    {
                        BaseUrls = new[] { dead, busy.Url, live.Url },
                        ApiKey = "",
                        MaxRetries = 0,
                    }))
                    {
                        var clock = Stopwatch.StartNew();
                        var result = await client.ExecuteAsync(new { text = "free prize" });
                        Assert.AreEqual("spam", (string)result.Output);
                        Assert.That(clock.ElapsedMilliseconds < 2000, "failing over waits for no backoff");
                        Assert.AreEqual(live.Url, client.BaseUrl);
                        await client.ForApp("spam-test").ExecuteAsync(new { text = "hello" });
                        Assert.AreEqual(1, busy.Requests.Count, "later calls go straight to the server that answered");
                    }
                }
            }
            finally
            {
                DataDir.Remove(dataDir);
            }
        }

        [Test]
        public async Task A500ToAPostIsNotRetriedA500ToAGetIs()
        {
            using (var failing = new Peer(_ => Peer.Response(500, "Internal Server Error", Error500, "application/json", "X-Request-Id: req-42")))
            using (var client = ClientFor(failing.Url, maxRetries: 2))
            {
                var error = await Expect.Throws<LoopaiServerException>(() => client.ExecuteAsync(new { text = "hi" }), 500, "internal_error");
                Assert.AreEqual("req-42", error.RequestId);
                Assert.AreEqual(1, failing.Requests.Count, "a POST that failed with 500 may have been carried out");

                failing.Clear();
                await Expect.Throws<LoopaiServerException>(() => client.GetAppAsync(), 500, "internal_error");
                Assert.AreEqual(3, failing.Requests.Count, "a GET is tried once and retried twice");
            }
        }

        [Test]
        public async Task A503WithRetryAfterAsAnHttpDateIsRetriedNoEarlierThanThatDate()
        {
            var calls = 0;
            using (var busy = new Peer(_ =>
            {
                if (System.Threading.Interlocked.Increment(ref calls) == 1)
                {
                    // HTTP dates have whole seconds: two seconds ahead is at least one second from now.
                    var at = DateTimeOffset.UtcNow.AddSeconds(2).ToString("r", CultureInfo.InvariantCulture);
                    return Peer.Response(503, "Service Unavailable",
                        "{\"error\": {\"code\": \"not_ready\", \"message\": \"warming up\"}}", "application/json", "Retry-After: " + at);
                }
                return Peer.Response(200, "OK", "{\"loop_app_id\": \"spam-test\", \"status\": \"active\"}");
            }))
            {
                var clock = Stopwatch.StartNew();
                using (var client = ClientFor(busy.Url))
                {
                    var app = await client.GetAppAsync();
                    Assert.AreEqual("active", app.Status);
                }
                Assert.That(clock.ElapsedMilliseconds >= 1000, "retried after " + clock.ElapsedMilliseconds + " ms");
                Assert.AreEqual(2, calls);

                calls = 0;
                using (var noRetry = ClientFor(busy.Url, maxRetries: 0))
                {
                    var error = await Expect.Throws<LoopaiUnavailableException>(() => noRetry.GetAppAsync(), 503, "not_ready");
                    Assert.IsTrue(error.RetryAfter.HasValue);
                    Assert.That(error.RetryAfter.Value > TimeSpan.Zero && error.RetryAfter.Value <= TimeSpan.FromSeconds(2),
                        error.RetryAfter.ToString());
                }
            }
        }

        [Test]
        public async Task ARetryAfterOverAMinuteIsNotWaitedOut()
        {
            using (var limited = new Peer(_ => Peer.Response(429, "Too Many Requests",
                       "{\"error\": {\"code\": \"rate_limited\", \"message\": \"slow down\"}}", "application/json", "Retry-After: 3600")))
            using (var client = ClientFor(limited.Url, maxRetries: 3))
            {
                var clock = Stopwatch.StartNew();
                var error = await Expect.Throws<LoopaiRateLimitException>(() => client.ExecuteAsync(new { text = "hi" }), 429, "rate_limited");
                Assert.AreEqual(TimeSpan.FromHours(1), error.RetryAfter);
                Assert.That(clock.ElapsedMilliseconds < 1000, "the caller decides about an hour's wait");
                Assert.AreEqual(1, limited.Requests.Count);
            }
        }

        [Test]
        public async Task AnErrorThatIsNotInTheLoopaiFormatStillSaysWhatHappened()
        {
            using (var proxy = new Peer(_ => Peer.Response(502, "Bad Gateway", "<h1>Bad Gateway</h1>", "text/html")))
            using (var client = ClientFor(proxy.Url, maxRetries: 0))
            {
                var error = await Expect.Throws<LoopaiServerException>(() => client.ExecuteAsync(new { text = "hi" }), 502, "http_502");
                StringAssert.Contains("answered 502: <h1>Bad Gateway", error.Message);
            }
        }

        [Test]
        public async Task AnAnswerThatIsNotJsonIsAnInvalidResponse()
        {
            using (var odd = new Peer(_ => Peer.Response(200, "OK", "<html>hello</html>", "text/html")))
            using (var client = ClientFor(odd.Url))
            {
                var error = await Expect.Throws<LoopaiException>(() => client.GetAppAsync(), 200, "invalid_response");
                StringAssert.Contains("not JSON", error.Message);
            }
        }

        [Test]
        public void RetryAfterIsReadAsDelaySecondsOrAsAnHttpDate()
        {
            var now = DateTimeOffset.Parse("2026-10-21T07:28:00Z", CultureInfo.InvariantCulture);
            Assert.AreEqual(TimeSpan.FromSeconds(3), Backoff.ParseRetryAfter("3", now));
            Assert.AreEqual(TimeSpan.FromMilliseconds(1500), Backoff.ParseRetryAfter(" 1.5 ", now));
            Assert.AreEqual(TimeSpan.Zero, Backoff.ParseRetryAfter("-1", now));
            Assert.AreEqual(TimeSpan.FromSeconds(10), Backoff.ParseRetryAfter("Wed, 21 Oct 2026 07:28:10 GMT", now));
            Assert.AreEqual(TimeSpan.Zero, Backoff.ParseRetryAfter("Wed, 21 Oct 2026 07:27:50 GMT", now), "a date in the past means now");
            Assert.IsNull(Backoff.ParseRetryAfter("2026-10-21T07:28:10", now), "not an HTTP date");
            Assert.IsNull(Backoff.ParseRetryAfter("soon", now));
            Assert.IsNull(Backoff.ParseRetryAfter("1e3", now));
            Assert.IsNull(Backoff.ParseRetryAfter(null, now));
        }

        [Test]
        public void BackoffDoublesWithJitterUpToItsCap()
        {
            for (var attempt = 0; attempt < 8; attempt++)
            {
                var step = Math.Min(8000, 500 * Math.Pow(2, attempt));
                var wait = Backoff.ForAttempt(attempt).TotalMilliseconds;
                Assert.That(wait >= step / 2 && wait <= step, "attempt " + attempt + ": " + wait + " ms");
            }
            var afterRetryAfter = Backoff.AfterRetryAfter(TimeSpan.FromSeconds(1)).TotalMilliseconds;
            Assert.That(afterRetryAfter >= 1000 && afterRetryAfter <= 1100, afterRetryAfter + " ms");
        }

        [Test]
        public void SettingsAreChecked()
        {
            Assert.Throws<ArgumentException>(() => new LoopaiClient("a", new LoopaiClientOptions { BaseUrl = "ftp://x" }));
            Assert.Throws<ArgumentException>(() => new LoopaiClient("a", new LoopaiClientOptions { BaseUrl = "not a url" }));
            Assert.Throws<ArgumentOutOfRangeException>(() => new LoopaiClient("a", new LoopaiClientOptions { MaxRetries = -1 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => new LoopaiClient("a", new LoopaiClientOptions { Timeout = TimeSpan.Zero }));
            Assert.Throws<ArgumentException>(() => new LoopaiClient(""));
            using (new EnvScope("LOOPAI_URL", null, "LOOPAI_API_KEY", "secret-key"))
            using (var client = new LoopaiClient("spam-test"))
            {
                Assert.AreEqual(LoopaiClient.DefaultBaseUrl, client.BaseUrl);
                Assert.AreEqual("http://127.0.0.1:8080", client.BaseUrl);
                Assert.IsFalse(client.ToString().Contains("secret-key"), "ToString never shows the key");
                Assert.AreEqual("other", client.ForApp("other").AppId);
            }
            using (var client = new LoopaiClient(new LoopaiClientOptions { BaseUrl = "http://example.test:9000/" }))
            {
                Assert.AreEqual("http://example.test:9000", client.BaseUrl);
                Assert.IsNull(client.AppId);
            }
        }
    }
}
