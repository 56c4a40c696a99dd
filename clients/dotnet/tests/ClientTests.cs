// The .NET client against the real Loopai server: executing, typed errors, the app lifecycle, jobs and the
// improvement loop's admin calls.

using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Loopai.Tests
{
    /// <summary>One server for the fixture, with <c>spam-test</c> (written like a person would) and the bundled
    /// <c>spam-detector-001</c> on disk.</summary>
    [TestFixture]
    public class ClientTests
    {
        private string _dataDir;
        private LoopaiServer _server;

        [TestFixtureSetUp]
        public void StartServer()
        {
            _dataDir = DataDir.Create();
            DataDir.WriteApp(_dataDir, "spam-test");
            DataDir.CopyBundledApp(_dataDir, "spam-detector-001");
            _server = LoopaiServer.Start(_dataDir);
        }

        [TestFixtureTearDown]
        public void StopServer()
        {
            if (_server != null) _server.Dispose();
            DataDir.Remove(_dataDir);
        }

        private LoopaiClient Client(string appId = "spam-test", int? maxRetries = null, TimeSpan? timeout = null)
        {
            return new LoopaiClient(appId, new LoopaiClientOptions
            {
                BaseUrl = _server.Url,
                ApiKey = "",
                MaxRetries = maxRetries,
                Timeout = timeout,
            });
        }

        // --- executing ------------------------------------------------------------------------------------------

        [Test]
        public async Task TheReadmeUsageReadsTheServerFromTheEnvironment()
        {
            ExecuteResult result;
            using (new EnvScope("LOOPAI_URL", _server.Url))
            {
                result = await new LoopaiClient("spam-detector-001").ExecuteAsync(new
                {
                    text = "Congratulations! You won a FREE cruise, reply YES to claim",
                });
            }
            Assert.AreEqual("spam", (string)result.Output);
            Assert.AreEqual("spam", result.Output.ToString());
            Assert.AreEqual("spam-detector-001", result.LoopAppId);
            Assert.AreEqual("v3", result.Version);
        }

        [Test]
        public async Task ExecuteReturnsTheResponse()
        {
            using (var client = Client())
            {
                var result = await client.ExecuteAsync(new { text = "see you at lunch" });
                Assert.AreEqual("ham", (string)result.Output);
                Assert.AreEqual(0.6, result.Confidence);
                Assert.AreEqual("spam-test", result.LoopAppId);
                Assert.AreEqual("v1", result.Version);
                Assert.That(Guid.Parse(result.ExecutionId) != Guid.Empty);
                Assert.That(result.LatencyMs >= 0);

                // The output read as a type, and inputs given as a dictionary, a JObject or a class.
                var typed = await client.ExecuteAsync<string>(new Dictionary<string, object> { { "text", "free prize" } });
                Assert.AreEqual("spam", typed.Output);
                Assert.AreEqual(0.9, typed.Confidence);
                Assert.AreEqual("spam", (string)(await client.ExecuteAsync(JObject.Parse("{\"text\": \"WIN now\"}"))).Output);
                Assert.AreEqual("ham", (string)(await client.ExecuteAsync(new Message { Text = "hello" })).Output);
            }
        }

        private class Message
        {
            [JsonProperty("text")] public string Text { get; set; }
        }

        [Test]
        public async Task BatchAnswersInOrderWithPerItemErrors()
        {
            using (var client = Client())
            {
                var batch = await client.ExecuteBatchAsync(new object[]
                {
                    new { text = "free prize" }, new { nope = 1 }, new { text = "lunch?" },
                });
                Assert.AreEqual(3, batch.Results.Count);
                Assert.AreEqual(new[] { true, false, true }, batch.Results.Select(r => r.Succeeded).ToArray());
                Assert.AreEqual("spam", (string)batch.Results[0].Output);
                Assert.AreEqual("ham", (string)batch.Results[2].Output);
                Assert.AreEqual("invalid_input", batch.Results[1].Error.Code);
                Assert.IsNotNull(batch.Results[1].Error.Message);
                Assert.AreEqual("v1", batch.Results[0].Version);

                var typed = await client.ExecuteBatchAsync<string>(new[] { new { text = "win" }, new { text = "hi" } });
                Assert.AreEqual(new[] { "spam", "ham" }, typed.Results.Select(r => r.Output).ToArray());
            }
        }

        [Test]
        public async Task UnknownAppJobAndVersionAreNotFound()
        {
            using (var client = Client())
            {
                var error = await Expect.Throws<LoopaiNotFoundException>(
                    () => client.ForApp("no-such-app").ExecuteAsync(new { text = "hi" }), 404, "not_found");
                StringAssert.Contains("no-such-app", error.Message);
                await Expect.Throws<LoopaiNotFoundException>(() => client.GetJobAsync("job_nope"), 404, "not_found");
                await Expect.Throws<LoopaiNotFoundException>(() => client.GetVersionAsync("v9"), 404, "not_found");
            }
        }

        [Test]
        public async Task InvalidInputAndSettingsAreValidationErrorsWithDetails()
        {
            using (var client = Client())
            {
                var error = await Expect.Throws<LoopaiValidationException>(
                    () => client.ExecuteAsync(new { nope = 1 }), 400, "invalid_input");
                Assert.IsNotNull(error.Details, "details say which field is wrong");
                StringAssert.Contains("text", error.Details.ToString());

                error = await Expect.Throws<LoopaiValidationException>(
                    () => client.UpdateAppAsync(new { sampling = new { rate = 3 } }), 400, "invalid_settings");
                StringAssert.Contains("rate", error.Details.ToString());
            }
        }

        [Test]
        public void AMethodForOneAppNeedsAnApp()
        {
            using (var client = Client(null))
            {
                var error = Assert.Throws<InvalidOperationException>(() => client.ExecuteAsync(new { text = "hi" }));
                StringAssert.Contains("not bound to a Loop App", error.Message);
            }
        }

        [Test]
        public async Task ACancelledCallThrowsOperationCanceled()
        {
            using (var client = Client())
            using (var cancelled = new CancellationTokenSource())
            {
                cancelled.Cancel();
                Exception caught = null;
                try
                {
                    await client.ExecuteAsync(new { text = "hi" }, cancellationToken: cancelled.Token);
                }
                catch (Exception e)
                {
                    caught = e;
                }
                Assert.IsInstanceOf<OperationCanceledException>(caught);
            }
        }

        // --- Loop Apps and versions -----------------------------------------------------------------------------

        [Test]
        public async Task ListAndGetApps()
        {
            using (var client = Client())
            {
                var list = await client.ListAppsAsync();
                CollectionAssert.IsSubsetOf(new[] { "spam-test", "spam-detector-001" },
                    list.LoopApps.Select(a => a.LoopAppId).ToArray());
                Assert.IsNotNull(list.LoadErrors);

                var app = await client.ForApp("spam-detector-001").GetAppAsync();
                Assert.AreEqual("spam-detector-001", app.LoopAppId);
                Assert.AreEqual("active", app.Status);
                Assert.AreEqual("v3", app.ActiveVersion);
                Assert.AreEqual("v3", app.ServingVersion);
                Assert.AreEqual("/loop-apps/spam-detector-001/execute", app.Endpoint);
                Assert.AreEqual("uncertainty", app.Sampling.Strategy);
                Assert.AreEqual("human", (string)app.Validation["oracle"]);
                Assert.AreEqual("string", (string)app.OutputSchema["type"]);
                Assert.IsNull(app.LoadError);

                var versions = await client.ForApp("spam-detector-001").ListVersionsAsync();
                CollectionAssert.AreEqual(new[] { "deprecated", "retired", "active" },
                    versions.Versions.Select(v => v.Status).ToArray());
                Assert.AreEqual("made from the first 90 examples; v3 is better on both classes",
                    (string)versions.Versions[0].Deprecated["reason"]);
                var v3 = await client.ForApp("spam-detector-001").GetVersionAsync("v3");
                Assert.AreEqual("learner", v3.Generator);
                Assert.That((double)v3.Eval["accuracy"] > 0.9);
            }
        }

        [Test]
        public async Task CreateUploadActivateRollback()
        {
            using (var client = Client("cs-lifecycle"))
            {
                var created = await client.CreateAppAsync(Fixtures.SpamSpec("cs-lifecycle", new { program = Fixtures.Program() }));
                Assert.IsFalse(created.IsJob);
                Assert.AreEqual("v1", created.ActiveVersion);
                Assert.AreEqual("v1", created.Version.Version);
                Assert.AreEqual("/loop-apps/cs-lifecycle/execute", created.Endpoint);
                await Expect.Throws<LoopaiValidationException>(
                    () => client.CreateAppAsync(Fixtures.SpamSpec("cs-lifecycle", new { program = Fixtures.Program() })),
                    409, "conflict");

                var longText = new { text = "a fairly long message here" };
                var uploaded = await client.UploadVersionAsync(Fixtures.LengthProgram);
                Assert.AreEqual(new[] { "v2", "testing", "v1" }, new[] { uploaded.Version, uploaded.Status, uploaded.Parent });
                Assert.AreEqual("v1", (await client.ExecuteAsync(longText)).Version);

                Assert.AreEqual("active", (await client.ActivateAsync("v2")).Status);
                var answer = await client.ExecuteAsync(longText);
                Assert.AreEqual(new[] { "v2", "spam" }, new[] { answer.Version, (string)answer.Output });
                Assert.AreEqual(new[] { "retired", "active" },
                    (await client.ListVersionsAsync()).Versions.Select(v => v.Status).ToArray());
                Assert.AreEqual("upload", (await client.GetVersionAsync("v2")).Generator);

                var rolledBack = await client.RollbackAsync();
                Assert.AreEqual(new[] { "v1", "active" }, new[] { rolledBack.Version, rolledBack.Status });
                Assert.AreEqual("v1", (await client.GetAppAsync()).ActiveVersion);
                await Expect.Throws<LoopaiValidationException>(() => client.RollbackAsync(), 409, "conflict");

                await Expect.Throws<LoopaiValidationException>(
                    () => client.UploadVersionAsync("function execute(input) { return {"), 422, "invalid_program");
            }
        }

        [Test]
        public async Task APausedAppIsUnavailableAndARetryFindsItResumed()
        {
            using (var client = Client("cs-pause", maxRetries: 0))
            {
                await client.CreateAppAsync(Fixtures.SpamSpec("cs-pause", new { program = Fixtures.Program() }));
                Assert.AreEqual("paused", (await client.PauseAsync()).Status);
                await Expect.Throws<LoopaiUnavailableException>(() => client.ExecuteAsync(new { text = "hi" }), 503, "paused");

                // A 503 is retried: resume the app while a retrying client waits out its backoff.
                var resuming = Task.Delay(300).ContinueWith(_ => client.ResumeAsync()).Unwrap();
                using (var retrying = Client("cs-pause", maxRetries: 5))
                {
                    Assert.AreEqual("ham", (string)(await retrying.ExecuteAsync(new { text = "hi" })).Output);
                }
                await resuming;

                Assert.AreEqual("archived", (await client.ArchiveAsync()).Status);
                var gone = await Expect.Throws<LoopaiException>(() => client.ExecuteAsync(new { text = "hi" }), 410, "archived");
                Assert.AreEqual(typeof(LoopaiException), gone.GetType(), "410 has no class of its own");
            }
        }

        [Test]
        public async Task WaitForAGenerationJob()
        {
            using (var client = Client("cs-learned"))
            {
                var accepted = await client.CreateAppAsync(Fixtures.SpamSpec("cs-learned", new { examples = Fixtures.LabelledExamples() }));
                Assert.IsTrue(accepted.IsJob);
                CollectionAssert.Contains(new[] { "queued", "running" }, accepted.State);
                var job = await client.WaitForJobAsync(accepted.JobId, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
                Assert.AreEqual("succeeded", job.State);
                Assert.AreEqual("create", job.Type);
                Assert.AreEqual("v1", (string)job.Result["version"]);
                Assert.AreEqual("spam", (string)(await client.ExecuteAsync(new { text = "win a free prize now" })).Output);

                // A finished job is returned at once; the jobs list has it.
                var again = await client.WaitForJobAsync(accepted.JobId, TimeSpan.Zero);
                Assert.AreEqual(accepted.JobId, again.JobId);
                CollectionAssert.Contains((await client.ListJobsAsync()).Jobs.Select(j => j.JobId).ToArray(), accepted.JobId);
            }
        }

        [Test]
        public async Task TheReadmesCreateExampleWithAnonymousObjectsAndTheBoundAppsId()
        {
            var rows = Fixtures.LabelledExamples().Select(row =>
            {
                var r = JObject.FromObject(row);
                return (object)new { input = new { subject = (string)r["input"]["text"] }, output = (string)r["output"] == "spam" ? "billing" : "bug" };
            }).ToList();
            using (var admin = Client("cs-router"))
            {
                var created = await admin.CreateAppAsync(new
                {
                    task = "Route a support ticket to the team that handles it",
                    input_schema = new { type = "object", properties = new { subject = new { type = "string" } }, required = new[] { "subject" } },
                    output_schema = new { type = "string", @enum = new[] { "billing", "bug", "account" } },
                    examples = rows,
                });
                Assert.IsTrue(created.IsJob);
                Assert.AreEqual("cs-router", created.LoopAppId);
                var job = await admin.WaitForJobAsync(created.JobId, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(100));
                Assert.That((double)job.Result["eval"]["accuracy"] > 0.5);
                var app = await admin.GetAppAsync();
                CollectionAssert.AreEqual(new[] { "billing", "bug", "account" }, app.OutputSchema["enum"].Select(e => (string)e).ToArray());
            }
            using (var unbound = Client(null))
            {
                Assert.Throws<ArgumentException>(() => unbound.CreateAppAsync(new { task = "no id" }));
            }
        }

        // --- the improvement loop -------------------------------------------------------------------------------

        [Test]
        public async Task ExamplesExecutionsReviewQueueFeedbackValidationsAnalyticsEvents()
        {
            using (var app = Client("cs-loop"))
            {
                // Every execution sampled, checked by a person (feedback) rather than an LLM.
                await app.CreateAppAsync(Fixtures.SpamSpec("cs-loop", new
                {
                    program = Fixtures.Program(),
                    sampling = new { rate = 1, strategy = "random" },
                    validation = new { oracle = "human" },
                    improvement = new { auto = false },
                }));
                var added = await app.AddExamplesAsync(new object[]
                {
                    new { input = new { text = "free money" }, output = "spam" },
                    new { input = new { text = "see you soon" }, output = "ham" },
                });
                Assert.AreEqual(2, added.Added);
                Assert.That(added.Total >= 2);
                await Expect.Throws<LoopaiValidationException>(
                    () => app.AddExamplesAsync(new object[] { new { input = new { text = "x" }, output = "maybe" } }),
                    400, "invalid_examples");

                var done = await app.ExecuteAsync(new { text = "see you at the prize ceremony" });
                Assert.AreEqual("spam", (string)done.Output);
                Assert.IsTrue(done.Sampled);

                await Expect.Eventually(async () =>
                {
                    var executions = await app.GetExecutionsAsync(5);
                    CollectionAssert.Contains(executions["executions"].Select(e => (string)e["id"]).ToArray(), done.ExecutionId);
                    var queue = await app.GetReviewQueueAsync(10);
                    CollectionAssert.Contains(queue["pending"].Select(p => (string)p["execution_id"]).ToArray(), done.ExecutionId);
                    return queue;
                });

                var verdict = await app.FeedbackAsync(done.ExecutionId, "ham");
                Assert.AreEqual(new object[] { "spam", "ham", false },
                    new object[] { (string)verdict.ProgramOutput, (string)verdict.ExpectedOutput, verdict.Correct });
                var wrong = await app.GetValidationsAsync(10, correct: false);
                Assert.AreEqual(done.ExecutionId, (string)wrong["validations"][0]["execution_id"]);
                Assert.AreEqual(0, ((JArray)(await app.GetValidationsAsync(correct: true))["validations"]).Count);

                var analytics = await app.GetAnalyticsAsync();
                Assert.AreEqual("cs-loop", (string)analytics["loop_app_id"]);
                Assert.AreEqual(1, (int)analytics["summary"]["validations"]);

                var pass = await app.ValidateAsync();
                Assert.AreEqual(JTokenType.Integer, pass["pending"].Type);

                var events = (JArray)(await app.GetEventsAsync(10))["events"];
                Assert.That(events.All(e => (string)e["loop_app_id"] == "cs-loop"));
                await Expect.Throws<LoopaiValidationException>(
                    () => app.FeedbackAsync("not-an-id", "ham"), 400, "invalid_execution_id");
            }
        }

        [Test]
        public async Task RegenerateAndImproveAreJobs()
        {
            using (var app = Client("cs-improve"))
            {
                await app.CreateAppAsync(Fixtures.SpamSpec("cs-improve", new
                {
                    program = Fixtures.Program(),
                    examples = Fixtures.LabelledExamples(),
                    improvement = new { auto = false },
                }));
                var regenerated = await app.WaitForJobAsync(await app.RegenerateAsync(), interval: TimeSpan.FromMilliseconds(100));
                Assert.AreEqual("v2", (string)regenerated.Result["version"]);
                var improved = await app.WaitForJobAsync(await app.ImproveAsync(), interval: TimeSpan.FromMilliseconds(100));
                Assert.AreEqual("improve", improved.Type);
                Assert.AreEqual("v3", (string)improved.Result["version"]);
                Assert.IsNotNull(improved.Result["decision"], "the improvement job says what became of its candidate");
            }
        }
    }
}
