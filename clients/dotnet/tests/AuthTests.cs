// API keys and rate limits, against a real server that has keys.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Loopai.Tests
{
    [TestFixture]
    public class AuthTests
    {
        private const string AdminKey = "test-admin-key";
        private const string ExecuteKey = "test-execute-key";
        /// <summary>The rate-limit test's own key, so it leaves the admin key's bucket to the other tests.</summary>
        private const string LimitedKey = "test-limited-key";

        /// <summary>A token bucket of 60 a minute refills one call a second, so the server's Retry-After is 1 s.</summary>
        private const int PerMinute = 60;

        private string _dataDir;
        private LoopaiServer _server;

        [TestFixtureSetUp]
        public void StartServer()
        {
            _dataDir = DataDir.Create();
            DataDir.WriteApp(_dataDir, "spam-test");
            _server = LoopaiServer.Start(_dataDir, new Dictionary<string, string>
            {
                { "LOOPAI_API_KEYS", "admin:" + AdminKey + ",execute:" + ExecuteKey + ":another-app,admin:" + LimitedKey },
                { "LOOPAI_RATE_LIMIT_PER_MINUTE", PerMinute.ToString() },
            });
        }

        [TestFixtureTearDown]
        public void StopServer()
        {
            if (_server != null) _server.Dispose();
            DataDir.Remove(_dataDir);
        }

        private LoopaiClient Client(string apiKey, int? maxRetries = null, HttpMessageHandler handler = null)
        {
            return new LoopaiClient("spam-test", new LoopaiClientOptions
            {
                BaseUrl = _server.Url,
                ApiKey = apiKey,
                MaxRetries = maxRetries,
                Handler = handler,
            });
        }

        [Test]
        public async Task NoKeyOrAWrongKeyIsAnAuthenticationError()
        {
            using (var anonymous = Client(""))
            {
                await Expect.Throws<LoopaiAuthenticationException>(() => anonymous.ExecuteAsync(new { text = "hi" }), 401, "unauthorized");
                await Expect.Throws<LoopaiAuthenticationException>(() => anonymous.ListAppsAsync(), 401, "unauthorized");
            }
            using (var wrong = Client("not-a-key"))
            {
                var error = await Expect.Throws<LoopaiAuthenticationException>(
                    () => wrong.ExecuteAsync(new { text = "hi" }), 401, "unauthorized");
                StringAssert.Contains("not valid", error.Message);
            }
        }

        [Test]
        public async Task AKeyLimitedToAnotherAppIsAPermissionErrorForThatAppAndForAdminCalls()
        {
            using (var limited = Client(ExecuteKey))
            {
                await Expect.Throws<LoopaiPermissionException>(() => limited.ExecuteAsync(new { text = "hi" }), 403, "forbidden");
                await Expect.Throws<LoopaiPermissionException>(() => limited.ListAppsAsync(), 403, "forbidden");
            }
        }

        [Test]
        public async Task TheKeyFromLoopaiApiKeyIsSentAsABearerToken()
        {
            LoopaiClient fromEnv;
            using (new EnvScope("LOOPAI_API_KEY", AdminKey, "LOOPAI_URL", _server.Url))
            {
                fromEnv = new LoopaiClient("spam-test");
            }
            using (fromEnv)
            {
                Assert.AreEqual("spam", (string)(await fromEnv.ExecuteAsync(new { text = "free prize" })).Output);
                CollectionAssert.Contains((await fromEnv.ListAppsAsync()).LoopApps.Select(a => a.LoopAppId).ToArray(), "spam-test");
            }
        }

        /// <summary>Notes each answer's status, so the test sees the 429 the client retried.</summary>
        private sealed class Recorder : DelegatingHandler
        {
            internal readonly List<int> Statuses = new List<int>();

            internal Recorder() : base(new HttpClientHandler()) { }

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                lock (Statuses) Statuses.Add((int)response.StatusCode);
                return response;
            }
        }

        [Test]
        public async Task OverTheLimitARetryingCallWaitsForRetryAfterWithoutRetriesARateLimitErrorSaysHowLong()
        {
            using (var recorder = new Recorder())
            using (var patient = Client(LimitedKey, maxRetries: 1, handler: recorder))
            {
                long? waited = null;
                for (var i = 0; i <= PerMinute && waited == null; i++)
                {
                    recorder.Statuses.Clear();
                    var clock = Stopwatch.StartNew();
                    Assert.AreEqual("spam", (string)(await patient.ExecuteAsync(new { text = "free prize" })).Output);
                    if (recorder.Statuses.Contains(429)) waited = clock.ElapsedMilliseconds;
                }
                Assert.IsNotNull(waited, "no 429 after " + (PerMinute + 1) + " calls");
                Assert.AreEqual(new[] { 429, 200 }, recorder.Statuses.ToArray());
                // The first backoff step alone would be at most 500 ms; the server asked for 1 s.
                Assert.That(waited >= 950, "retried after " + waited + " ms");
            }

            // The retry took the one token that came back; the next call is over the limit again.
            using (var impatient = Client(LimitedKey, maxRetries: 0))
            {
                var limited = await Expect.Throws<LoopaiRateLimitException>(
                    () => impatient.ExecuteAsync(new { text = "hi" }), 429, "rate_limited");
                Assert.AreEqual(TimeSpan.FromSeconds(1), limited.RetryAfter);
                Assert.AreEqual(PerMinute, (int)limited.Details["limit_per_minute"]);
            }
        }
    }
}
