// Test helpers: the real Loopai server (the repository's built JavaScript) as a child process on loopback, over a
// temporary data directory with a Loop App written the way a person writes one; and assertions for the client's errors.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Loopai.Tests
{
    internal static class Fixtures
    {
        internal const string SpamProgram = @"
function execute(input) {
  var words = JSON.parse(loopai.files['words.json']);
  var text = input.text.toLowerCase();
  var hits = words.filter(function (w) { return text.indexOf(w) >= 0; }).length;
  return { result: hits > 0 ? 'spam' : 'ham', confidence: hits > 0 ? 0.9 : 0.6 };
}";

        internal static readonly Dictionary<string, string> SpamFiles = new Dictionary<string, string>
        {
            { "words.json", "[\"win\",\"prize\",\"free\"]" },
        };

        internal const string LengthProgram =
            "function execute(input) { return { result: input.text.length > 20 ? 'spam' : 'ham', confidence: 0.5 }; }";

        internal static JObject SpamSpec(string id, object extra = null)
        {
            var spec = new JObject
            {
                { "loop_app_id", id },
                { "name", "Spam test" },
                { "task", "Classify messages as spam or ham" },
                { "input_schema", JObject.Parse(@"{""type"": ""object"", ""properties"": {""text"": {""type"": ""string""}}, ""required"": [""text""]}") },
                { "output_schema", JObject.Parse(@"{""type"": ""string"", ""enum"": [""spam"", ""ham""]}") },
            };
            if (extra != null) spec.Merge(JObject.FromObject(extra));
            return spec;
        }

        internal static JObject Program()
        {
            return new JObject { { "code", SpamProgram }, { "files", JObject.FromObject(SpamFiles) } };
        }

        /// <summary>A few dozen labelled rows per class, with varied filler so the learner's held-out part is not trivial.</summary>
        internal static List<object> LabelledExamples()
        {
            var spam = new[] { "win a free prize now", "claim your cash reward today", "you won the lottery click here",
                "urgent verify your bank account", "free bitcoin giveaway act fast", "limited offer free gift card" };
            var ham = new[] { "see you at lunch tomorrow", "the meeting moved to three", "can you send me the report",
                "the train is running late again", "dinner at our place on friday", "please review my pull request" };
            var fillers = new[] { "", " ok", " thanks", " see below", " regards", " :)" };
            var rows = new List<object>();
            foreach (var pair in new[] { Tuple.Create(spam, "spam"), Tuple.Create(ham, "ham") })
            {
                for (var i = 0; i < pair.Item1.Length; i++)
                for (var j = 0; j < fillers.Length; j++)
                    rows.Add(new { input = new { text = pair.Item1[i] + fillers[j] + " " + (i * 7 + j) }, output = pair.Item2 });
            }
            return rows;
        }
    }

    /// <summary>The repository's paths, from the build folder the tests run in (clients/dotnet/build).</summary>
    internal static class Repo
    {
        internal static string Root
        {
            get
            {
                var fromEnv = Environment.GetEnvironmentVariable("LOOPAI_REPO_ROOT");
                if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
                return Path.GetFullPath(Path.Combine(AppDomain.CurrentDomain.BaseDirectory, "..", "..", ".."));
            }
        }

        internal static string ServerMain { get { return Path.Combine(Root, "dist", "src", "main.js"); } }

        internal static string DotnetDir { get { return Path.Combine(Root, "clients", "dotnet"); } }
    }

    internal static class Sh
    {
        /// <summary>Runs a program to its end; throws with its stderr if it fails.</summary>
        internal static void Run(string file, params string[] args)
        {
            var info = new ProcessStartInfo(file, string.Join(" ", args.Select(Quote)))
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using (var proc = Process.Start(info))
            {
                var stderr = proc.StandardError.ReadToEnd();
                proc.StandardOutput.ReadToEnd();
                proc.WaitForExit();
                if (proc.ExitCode != 0) throw new Exception(file + " " + string.Join(" ", args) + " failed: " + stderr);
            }
        }

        private static string Quote(string arg)
        {
            return "\"" + arg.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        }
    }

    internal static class DataDir
    {
        internal static string Create()
        {
            var dir = Path.Combine(Path.GetTempPath(), "loopai-dotnet-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Directory.CreateDirectory(dir);
            return dir;
        }

        /// <summary>A Loop App folder the way a person writes one: config.yaml, artifacts/v1/…, and a relative
        /// <c>active</c> link.</summary>
        internal static void WriteApp(string dataDir, string id)
        {
            var app = Path.Combine(dataDir, "loop-apps", id);
            var v1 = Path.Combine(app, "artifacts", "v1");
            Directory.CreateDirectory(v1);
            // JSON is YAML, so no YAML library is needed to write the config.
            File.WriteAllText(Path.Combine(app, "config.yaml"), Fixtures.SpamSpec(id).ToString(Formatting.Indented));
            File.WriteAllText(Path.Combine(v1, "program.js"), Fixtures.SpamProgram);
            foreach (var file in Fixtures.SpamFiles) File.WriteAllText(Path.Combine(v1, file.Key), file.Value);
            Sh.Run("ln", "-s", "v1", Path.Combine(app, "artifacts", "active"));
        }

        /// <summary>One of the example apps bundled in the repository (loopai-data/loop-apps), as it is on disk.</summary>
        internal static void CopyBundledApp(string dataDir, string id)
        {
            var apps = Path.Combine(dataDir, "loop-apps");
            Directory.CreateDirectory(apps);
            Sh.Run("cp", "-a", Path.Combine(Repo.Root, "loopai-data", "loop-apps", id), apps);
            var executions = Path.Combine(apps, id, "datasets", "executions");
            if (Directory.Exists(executions)) Directory.Delete(executions, true);
        }

        internal static void Remove(string dir)
        {
            try
            {
                if (dir != null && Directory.Exists(dir)) Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal static class Ports
    {
        internal static int Free()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }
    }

    /// <summary>The real server as a child process on loopback, with its own data dir.</summary>
    internal sealed class LoopaiServer : IDisposable
    {
        private const int SigTerm = 15;

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int Kill(int pid, int signal);

        private readonly Process _proc;
        private readonly StringBuilder _stderr = new StringBuilder();
        private readonly string _pidFile;

        internal LoopaiServer(string dataDir, IDictionary<string, string> env = null, int? port = null)
        {
            if (!File.Exists(Repo.ServerMain))
                throw new Exception(Repo.ServerMain + " is missing: build the server first (npm run build at the repository root)");
            Port = port ?? Ports.Free();
            Url = "http://127.0.0.1:" + Port;
            var info = new ProcessStartInfo("node", "\"" + Repo.ServerMain + "\"")
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                RedirectStandardInput = true,
                // cwd is the data dir, so no config/loopai.yaml of the repository is read.
                WorkingDirectory = dataDir,
            };
            var inherited = info.EnvironmentVariables.Keys.Cast<string>()
                .Where(k => k.StartsWith("LOOPAI_", StringComparison.Ordinal) || k.StartsWith("OPENAI_", StringComparison.Ordinal))
                .ToList();
            foreach (var name in inherited) info.EnvironmentVariables.Remove(name);
            info.EnvironmentVariables["LOOPAI_DATA_DIR"] = dataDir;
            info.EnvironmentVariables["LOOPAI_HOST"] = "127.0.0.1";
            info.EnvironmentVariables["LOOPAI_PORT"] = Port.ToString();
            info.EnvironmentVariables["LOOPAI_LOG_LEVEL"] = "warn";
            info.EnvironmentVariables["LOOPAI_GENERATOR"] = "learner"; // generation jobs stay offline
            if (env != null) foreach (var pair in env) info.EnvironmentVariables[pair.Key] = pair.Value;

            _proc = Process.Start(info);
            _proc.ErrorDataReceived += (sender, e) =>
            {
                if (e.Data == null) return;
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                    if (_stderr.Length > 8000) _stderr.Remove(0, _stderr.Length - 4000);
                }
            };
            _proc.OutputDataReceived += (sender, e) => { };
            _proc.BeginErrorReadLine();
            _proc.BeginOutputReadLine();
            // test.sh stops whatever is listed here, should this process die before it stops its servers.
            var pidDir = Environment.GetEnvironmentVariable("LOOPAI_TEST_PID_DIR");
            if (!string.IsNullOrEmpty(pidDir))
            {
                _pidFile = Path.Combine(pidDir, _proc.Id + ".pid");
                File.WriteAllText(_pidFile, _proc.Id.ToString());
            }
        }

        internal int Port { get; private set; }
        internal string Url { get; private set; }

        internal static LoopaiServer Start(string dataDir, IDictionary<string, string> env = null, int? port = null)
        {
            var server = new LoopaiServer(dataDir, env, port);
            try
            {
                server.WaitReady(TimeSpan.FromSeconds(20));
                return server;
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }

        /// <summary>Until <c>GET /ready</c> answers 200.</summary>
        internal void WaitReady(TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) })
            {
                while (clock.Elapsed < timeout)
                {
                    if (_proc.HasExited) throw new Exception("the server exited with " + _proc.ExitCode + ": " + Stderr());
                    try
                    {
                        using (var res = http.GetAsync(Url + "/ready").Result)
                        {
                            if (res.StatusCode == HttpStatusCode.OK) return;
                        }
                    }
                    catch (Exception)
                    {
                    }
                    Thread.Sleep(100);
                }
            }
            throw new Exception("the server was not ready within " + timeout.TotalSeconds + " s: " + Stderr());
        }

        internal string Stderr()
        {
            lock (_stderr) return _stderr.ToString();
        }

        /// <summary>SIGTERM (the server finishes requests in flight, flushes its log and exits), SIGKILL after 10 s.</summary>
        public void Dispose()
        {
            try
            {
                if (!_proc.HasExited)
                {
                    Kill(_proc.Id, SigTerm);
                    if (!_proc.WaitForExit(10000)) _proc.Kill();
                    _proc.WaitForExit();
                }
            }
            finally
            {
                if (_pidFile != null) File.Delete(_pidFile);
                _proc.Dispose();
            }
        }
    }

    internal static class Expect
    {
        /// <summary>Awaits <paramref name="call"/> and checks it throws exactly a <typeparamref name="T"/> (or a
        /// subclass) with the given status and code; returns it.</summary>
        internal static async Task<T> Throws<T>(Func<Task> call, int? status, string code) where T : LoopaiException
        {
            Exception caught = null;
            try
            {
                await call();
            }
            catch (Exception e)
            {
                caught = e;
            }
            if (caught == null) Assert.Fail("expected " + typeof(T).Name + ", nothing was thrown");
            var typed = caught as T;
            if (typed == null) Assert.Fail("expected " + typeof(T).Name + ", got " + caught);
            Assert.AreEqual(status, typed.Status, typed.ToString());
            Assert.AreEqual(code, typed.Code, typed.ToString());
            Assert.IsFalse(string.IsNullOrEmpty(typed.Message), "the error says what happened");
            return typed;
        }

        /// <summary>Retries <paramref name="check"/> until it passes or the time is up (the execution log is
        /// written in the background).</summary>
        internal static async Task<T> Eventually<T>(Func<Task<T>> check, int timeoutMs = 5000)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    return await check();
                }
                catch (Exception)
                {
                    if (clock.ElapsedMilliseconds > timeoutMs) throw;
                }
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Sets environment variables for the length of a using block, and puts the old values back.</summary>
    internal sealed class EnvScope : IDisposable
    {
        private readonly Dictionary<string, string> _old = new Dictionary<string, string>();

        internal EnvScope(params string[] namesAndValues)
        {
            for (var i = 0; i + 1 < namesAndValues.Length; i += 2)
            {
                _old[namesAndValues[i]] = Environment.GetEnvironmentVariable(namesAndValues[i]);
                Environment.SetEnvironmentVariable(namesAndValues[i], namesAndValues[i + 1]);
            }
        }

        public void Dispose()
        {
            foreach (var pair in _old) Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }
    }

    /// <summary>A bare HTTP/1.1 peer on loopback for answers the Loopai server does not give on demand: each
    /// request gets what <c>answer</c> returns (null: never answered). Counts the connections and requests it saw.</summary>
    internal sealed class Peer : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly Func<string, string> _answer;
        private readonly List<TcpClient> _open = new List<TcpClient>();
        private readonly object _lock = new object();
        private int _connections;
        private readonly List<string> _requests = new List<string>();

        /// <summary><paramref name="answer"/> gets "METHOD /path" and returns the whole response
        /// (see <see cref="Response"/>), or null to leave the request unanswered.</summary>
        internal Peer(Func<string, string> answer)
        {
            _answer = answer;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Url = "http://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port;
            var accepting = new Thread(Accept) { IsBackground = true };
            accepting.Start();
        }

        internal string Url { get; private set; }

        internal int Connections { get { lock (_lock) return _connections; } }

        internal List<string> Requests { get { lock (_lock) return _requests.ToList(); } }

        internal void Clear()
        {
            lock (_lock) _requests.Clear();
        }

        internal static string Response(int status, string reason, string body, string contentType = "application/json",
            params string[] headers)
        {
            var bytes = Encoding.UTF8.GetByteCount(body);
            var text = new StringBuilder();
            text.Append("HTTP/1.1 ").Append(status).Append(' ').Append(reason).Append("\r\n");
            text.Append("Content-Type: ").Append(contentType).Append("\r\n");
            text.Append("Content-Length: ").Append(bytes).Append("\r\n");
            text.Append("Connection: close\r\n");
            foreach (var header in headers) text.Append(header).Append("\r\n");
            text.Append("\r\n").Append(body);
            return text.ToString();
        }

        private void Accept()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = _listener.AcceptTcpClient();
                }
                catch (Exception)
                {
                    return; // stopped
                }
                lock (_lock)
                {
                    _connections++;
                    _open.Add(client);
                }
                var serving = new Thread(() => Serve(client)) { IsBackground = true };
                serving.Start();
            }
        }

        private void Serve(TcpClient client)
        {
            try
            {
                var stream = client.GetStream();
                var head = ReadHead(stream);
                if (head == null) return;
                var lines = head.Split(new[] { "\r\n" }, StringSplitOptions.None);
                var parts = lines[0].Split(' ');
                var length = 0;
                foreach (var line in lines.Skip(1))
                {
                    if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
                        length = int.Parse(line.Substring("content-length:".Length).Trim());
                }
                var body = new byte[length];
                var read = 0;
                while (read < length)
                {
                    var n = stream.Read(body, read, length - read);
                    if (n <= 0) break;
                    read += n;
                }
                var request = parts[0] + " " + parts[1];
                lock (_lock) _requests.Add(request);
                var response = _answer(request);
                if (response == null) return; // keep the connection open, never answer
                var bytes = Encoding.UTF8.GetBytes(response);
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush();
                client.Close();
            }
            catch (Exception)
            {
            }
        }

        private static string ReadHead(NetworkStream stream)
        {
            var head = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                var n = stream.Read(one, 0, 1);
                if (n <= 0) return null;
                head.Add(one[0]);
                var c = head.Count;
                if (c >= 4 && head[c - 4] == '\r' && head[c - 3] == '\n' && head[c - 2] == '\r' && head[c - 1] == '\n')
                    return Encoding.ASCII.GetString(head.ToArray(), 0, c - 4);
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            lock (_lock)
            {
                foreach (var client in _open) client.Close();
                _open.Clear();
            }
        }
    }
}
