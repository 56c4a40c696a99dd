// One contract: the .NET client against the OpenAPI document the real server serves at GET /openapi.json. Every
// method's request (method, path, query, body) must be an operation of the document, every operation of the API
// must have a method, and every property of the answer classes must be one the document describes (with every
// field it requires). A change of the API that the client does not follow fails here.

using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Loopai.Tests
{
    [TestFixture]
    public class ContractTests
    {
        private string _dataDir;
        private LoopaiServer _server;
        private JObject _doc;

        /// <summary>Where the client knowingly goes beyond the document (gaps of the document, also listed by the
        /// other clients' contract tests). An entry no longer needed fails the test: delete it once the document is fixed.</summary>
        private static readonly Dictionary<string, string> KnownGaps = new Dictionary<string, string>
        {
            { "CreatedLoopApp.version", "POST /loop-apps answers 201 with the first version too; the document: LoopApp" },
            { "body POST /loop-apps/{id}/versions regenerate", "POST /loop-apps/{id}/versions takes {\"regenerate\": true}; the document says ProgramUpload" },
        };

        [TestFixtureSetUp]
        public void FetchTheDocument()
        {
            _dataDir = DataDir.Create();
            _server = LoopaiServer.Start(_dataDir);
            using (var http = new HttpClient())
            {
                _doc = JObject.Parse(http.GetStringAsync(_server.Url + "/openapi.json").Result);
            }
        }

        [TestFixtureTearDown]
        public void StopServer()
        {
            if (_server != null) _server.Dispose();
            DataDir.Remove(_dataDir);
        }

        // --- the document ---------------------------------------------------------------------------------------

        private JObject Schema(string name)
        {
            var schema = _doc["components"]["schemas"][name] as JObject;
            Assert.IsNotNull(schema, "the document has no schema " + name);
            return schema;
        }

        /// <summary>Follows $refs into components.schemas.</summary>
        private JObject Resolve(JToken schema)
        {
            var current = schema as JObject;
            for (var i = 0; i < 20 && current != null && current["$ref"] != null; i++)
                current = Schema(((string)current["$ref"]).Split('/').Last());
            return current ?? new JObject();
        }

        /// <summary>The properties of an object schema, of every branch of its anyOf / oneOf / allOf, by name.</summary>
        private Dictionary<string, JToken> Properties(JToken schema)
        {
            var resolved = Resolve(schema);
            var all = new Dictionary<string, JToken>();
            var props = resolved["properties"] as JObject;
            if (props != null) foreach (var p in props.Properties()) all[p.Name] = p.Value;
            foreach (var key in new[] { "anyOf", "oneOf", "allOf" })
            {
                var branches = resolved[key] as JArray;
                if (branches == null) continue;
                foreach (var branch in branches)
                foreach (var p in Properties(branch))
                    all[p.Key] = p.Value;
            }
            return all;
        }

        private static IEnumerable<string> Required(JObject schema)
        {
            var required = schema["required"] as JArray;
            return required == null ? Enumerable.Empty<string>() : required.Select(r => (string)r);
        }

        private static string[] JsonNames(Type type)
        {
            return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Select(p => p.GetCustomAttributes(typeof(JsonPropertyAttribute), true).Cast<JsonPropertyAttribute>().FirstOrDefault())
                .Where(a => a != null)
                .Select(a => a.PropertyName)
                .ToArray();
        }

        // --- answers --------------------------------------------------------------------------------------------

        [Test]
        public void EveryPropertyOfTheAnswerClassesIsDocumentedAndEveryRequiredFieldHasOne()
        {
            var loopApp = Schema("LoopApp");
            var batchItems = Resolve(Schema("BatchResponse")["properties"]["results"]["items"]);
            var classes = new List<Tuple<Type, JObject, bool>>
            {
                // class, its schema, whether the class must have every field the schema requires
                Tuple.Create(typeof(ExecuteResult<JToken>), Schema("ExecuteResponse"), true),
                Tuple.Create(typeof(BatchResult<JToken>), Schema("BatchResponse"), true),
                Tuple.Create(typeof(BatchItem<JToken>), batchItems, false),
                Tuple.Create(typeof(ApiError), Resolve(Schema("Error")["properties"]["error"]), true),
                Tuple.Create(typeof(LoopApp), loopApp, true),
                Tuple.Create(typeof(SamplingSettings), Resolve(loopApp["properties"]["sampling"]), true),
                Tuple.Create(typeof(LoopAppList), Schema("LoopAppList"), true),
                Tuple.Create(typeof(ExamplesAdded), Schema("ExamplesAdded"), true),
                Tuple.Create(typeof(LoopAppVersion), Schema("Version"), true),
                Tuple.Create(typeof(VersionList), Schema("VersionList"), true),
                Tuple.Create(typeof(FeedbackResult), Schema("FeedbackResponse"), true),
                Tuple.Create(typeof(JobAccepted), Schema("JobAccepted"), true),
                Tuple.Create(typeof(Job), Schema("Job"), true),
                Tuple.Create(typeof(JobList), Schema("JobList"), true),
            };
            var problems = new List<string>();
            foreach (var entry in classes)
            {
                var documented = Properties(entry.Item2);
                var names = JsonNames(entry.Item1);
                problems.AddRange(names.Where(n => !documented.ContainsKey(n))
                    .Select(n => entry.Item1.Name + "." + n + ": not in the document"));
                if (entry.Item3)
                {
                    problems.AddRange(Required(entry.Item2).Where(r => !names.Contains(r))
                        .Select(r => entry.Item1.Name + ": the document requires " + r + ", the class has no property for it"));
                }
            }
            // The answer of POST /loop-apps: 201 the app (and its first version), or 202 a job.
            var created = Properties(loopApp).Keys.Concat(Properties(Schema("JobAccepted")).Keys).ToList();
            var gapsUsed = new HashSet<string>();
            foreach (var name in JsonNames(typeof(CreatedLoopApp)).Where(n => !created.Contains(n)))
            {
                if (KnownGaps.ContainsKey("CreatedLoopApp." + name)) gapsUsed.Add("CreatedLoopApp." + name);
                else problems.Add("CreatedLoopApp." + name + ": not in the document");
            }
            Assert.IsEmpty(problems, string.Join("\n", problems));
            foreach (var gap in KnownGaps.Keys.Where(k => k.StartsWith("CreatedLoopApp.", StringComparison.Ordinal)))
                Assert.IsTrue(gapsUsed.Contains(gap), "KnownGaps[" + gap + "] is no longer needed: delete it");
        }

        // --- requests -------------------------------------------------------------------------------------------

        /// <summary>Records each request and answers it with a JSON that every answer class reads.</summary>
        private sealed class Recorder : HttpMessageHandler
        {
            internal readonly List<Tuple<string, Uri, string>> Requests = new List<Tuple<string, Uri, string>>();

            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var body = request.Content == null ? null : await request.Content.ReadAsStringAsync();
                lock (Requests) Requests.Add(Tuple.Create(request.Method.Method, request.RequestUri, body));
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent("{\"job_id\": \"job_1\", \"state\": \"succeeded\"}", Encoding.UTF8, "application/json"),
                };
            }
        }

        /// <summary>Each public method, called so that it makes one request (WaitForJobAsync: one poll).</summary>
        private static Dictionary<string, Func<LoopaiClient, Task>> Calls()
        {
            return new Dictionary<string, Func<LoopaiClient, Task>>
            {
                { "ExecuteAsync", c => c.ExecuteAsync(new { text = "hi" }) },
                { "ExecuteAsync<T>", c => c.ExecuteAsync<string>(new { text = "hi" }) },
                { "ExecuteBatchAsync", c => c.ExecuteBatchAsync(new object[] { new { text = "hi" }, new { text = "there" } }) },
                { "ExecuteBatchAsync<T>", c => c.ExecuteBatchAsync<string>(new object[] { new { text = "hi" } }) },
                { "ListAppsAsync", c => c.ListAppsAsync() },
                { "GetAppAsync", c => c.GetAppAsync() },
                { "CreateAppAsync", c => c.CreateAppAsync(Fixtures.SpamSpec("contract-app", new { program = Fixtures.Program() })) },
                { "UpdateAppAsync", c => c.UpdateAppAsync(new { sampling = new { rate = 1, strategy = "random" }, execution = new { timeout_ms = 20 } }) },
                { "PauseAsync", c => c.PauseAsync() },
                { "ResumeAsync", c => c.ResumeAsync() },
                { "ArchiveAsync", c => c.ArchiveAsync() },
                { "AddExamplesAsync", c => c.AddExamplesAsync(new object[] { new { input = new { text = "hi" }, output = "ham" } }) },
                { "ExportExamplesAsync", c => c.ExportExamplesAsync() },
                { "ListVersionsAsync", c => c.ListVersionsAsync() },
                { "GetVersionAsync", c => c.GetVersionAsync("v7") },
                { "UploadVersionAsync", c => c.UploadVersionAsync(Fixtures.LengthProgram, new Dictionary<string, string> { { "a.json", "[]" } }) },
                { "RegenerateAsync", c => c.RegenerateAsync() },
                { "ActivateAsync", c => c.ActivateAsync("v7", true) },
                { "RollbackAsync", c => c.RollbackAsync(true) },
                { "DeprecateAsync", c => c.DeprecateAsync("v7", "too old") },
                { "ReinstateAsync", c => c.ReinstateAsync("v7") },
                { "GetExecutionsAsync", c => c.GetExecutionsAsync(5) },
                { "FeedbackAsync", c => c.FeedbackAsync("00000000-0000-4000-8000-000000000000", "spam") },
                { "GetReviewQueueAsync", c => c.GetReviewQueueAsync(5) },
                { "GetValidationsAsync", c => c.GetValidationsAsync(5, false) },
                { "GetAnalyticsAsync", c => c.GetAnalyticsAsync() },
                { "GetEventsAsync", c => c.GetEventsAsync(5) },
                { "ValidateAsync", c => c.ValidateAsync() },
                { "ImproveAsync", c => c.ImproveAsync() },
                { "GetJobAsync", c => c.GetJobAsync("job_1") },
                { "ListJobsAsync", c => c.ListJobsAsync() },
                { "WaitForJobAsync", c => c.WaitForJobAsync("job_1") },
            };
        }

        /// <summary>The document's path template and operation for a request (<c>{id}</c> matches one segment).</summary>
        private Tuple<string, JObject> Operation(string method, string path)
        {
            foreach (var template in ((JObject)_doc["paths"]).Properties())
            {
                var pattern = "^" + Regex.Replace(Regex.Escape(template.Name), @"\\\{\w+}", "[^/]+") + "$";
                var operation = template.Value[method.ToLowerInvariant()] as JObject;
                if (operation != null && Regex.IsMatch(path, pattern)) return Tuple.Create(template.Name, operation);
            }
            return null;
        }

        [Test]
        public async Task EveryMethodMakesADocumentedRequestAndEveryOperationHasAMethod()
        {
            var calls = Calls();
            // A public method without an entry above fails here: add it.
            var methods = typeof(LoopaiClient).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Where(m => m.Name.EndsWith("Async", StringComparison.Ordinal))
                .Select(m => m.Name + (m.IsGenericMethodDefinition ? "<T>" : ""))
                .Distinct();
            CollectionAssert.IsSubsetOf(methods.ToArray(), calls.Keys.ToArray());

            var problems = new List<string>();
            var used = new HashSet<string>();
            var gapsUsed = new HashSet<string>();
            foreach (var call in calls)
            {
                var recorder = new Recorder();
                using (var client = new LoopaiClient("spam-test", new LoopaiClientOptions { BaseUrl = "http://127.0.0.1:1", ApiKey = "", Handler = recorder }))
                {
                    await call.Value(client);
                }
                Assert.AreEqual(1, recorder.Requests.Count, call.Key + " makes one request");
                var request = recorder.Requests[0];
                var found = Operation(request.Item1, request.Item2.AbsolutePath);
                if (found == null)
                {
                    problems.Add(call.Key + ": " + request.Item1 + " " + request.Item2.AbsolutePath + " is not an operation of the document");
                    continue;
                }
                var op = request.Item1 + " " + found.Item1;
                used.Add(op);
                var parameters = (found.Item2["parameters"] as JArray ?? new JArray())
                    .Concat(_doc["paths"][found.Item1]["parameters"] as JArray ?? new JArray())
                    .Where(p => (string)p["in"] == "query").Select(p => (string)p["name"]).ToList();
                var query = request.Item2.Query.TrimStart('?');
                foreach (var pair in query.Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    var name = Uri.UnescapeDataString(pair.Split('=')[0]);
                    if (!parameters.Contains(name)) problems.Add(call.Key + ": ?" + name + " is not a parameter of " + op);
                }
                var bodySchema = found.Item2["requestBody"] == null ? null : found.Item2["requestBody"]["content"]["application/json"]["schema"];
                if (request.Item3 == null)
                {
                    if (found.Item2["requestBody"] != null && (bool?)found.Item2["requestBody"]["required"] == true)
                        problems.Add(call.Key + ": " + op + " requires a body, none was sent");
                    continue;
                }
                if (bodySchema == null)
                {
                    problems.Add(call.Key + ": " + op + " takes no body, one was sent");
                    continue;
                }
                var documented = Properties(bodySchema);
                foreach (var field in JObject.Parse(request.Item3).Properties().Select(p => p.Name))
                {
                    if (documented.ContainsKey(field)) continue;
                    var gap = "body " + op + " " + field;
                    if (KnownGaps.ContainsKey(gap)) gapsUsed.Add(gap);
                    else problems.Add(call.Key + ": " + field + " is not a documented field of the body of " + op);
                }
            }
            // Every operation of the API (not the server's own pages) has a method.
            foreach (var path in ((JObject)_doc["paths"]).Properties())
            {
                if (!path.Name.StartsWith("/loop-apps", StringComparison.Ordinal) && !path.Name.StartsWith("/jobs", StringComparison.Ordinal)) continue;
                foreach (var method in ((JObject)path.Value).Properties().Select(p => p.Name.ToUpperInvariant()))
                {
                    if (method == "PARAMETERS") continue;
                    if (!used.Contains(method + " " + path.Name)) problems.Add(method + " " + path.Name + ": no method of the client calls it");
                }
            }
            Assert.IsEmpty(problems, string.Join("\n", problems));
            foreach (var gap in KnownGaps.Keys.Where(k => k.StartsWith("body ", StringComparison.Ordinal)))
                Assert.IsTrue(gapsUsed.Contains(gap), "KnownGaps[" + gap + "] is no longer needed: delete it");
        }
    }
}
