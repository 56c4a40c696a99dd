// Assembly attributes for builds without the SDK (mcs in test.sh); the .csproj turns its own generation off.

using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("Loopai.Client")]
[assembly: AssemblyDescription(".NET client for the Loopai server: execute Loop Apps and manage their programs")]
[assembly: AssemblyVersion("0.1.0.0")]
[assembly: AssemblyFileVersion("0.1.0.0")]
[assembly: AssemblyInformationalVersion(Loopai.LoopaiClient.ClientVersion)]
[assembly: InternalsVisibleTo("Loopai.Client.Tests")]
