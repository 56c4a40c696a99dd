// The package description for `dotnet pack` users says what the code says.

using System.IO;
using System.Linq;
using System.Reflection;
using System.Xml.Linq;
using NUnit.Framework;

namespace Loopai.Tests
{
    [TestFixture]
    public class PackageTests
    {
        private static XElement Property(XDocument project, string name)
        {
            return project.Descendants("PropertyGroup").Elements(name).Single();
        }

        [Test]
        public void TheProjectFileTargetsNetstandard20WithTheClientsVersionAndNewtonsoftJson()
        {
            var project = XDocument.Load(Path.Combine(Repo.DotnetDir, "Loopai.Client.csproj"));
            Assert.AreEqual("netstandard2.0", Property(project, "TargetFramework").Value);
            Assert.AreEqual(LoopaiClient.ClientVersion, Property(project, "Version").Value);
            var reference = project.Descendants("PackageReference").Single();
            Assert.AreEqual("Newtonsoft.Json", (string)reference.Attribute("Include"));
            Assert.AreEqual("src/**/*.cs", (string)project.Descendants("Compile").Single().Attribute("Include"),
                "the package is built from the same sources as the Mono build");
        }

        [Test]
        public void TheAssemblySaysTheSameVersion()
        {
            var assembly = typeof(LoopaiClient).Assembly;
            var informational = assembly.GetCustomAttributes(typeof(AssemblyInformationalVersionAttribute), false)
                .Cast<AssemblyInformationalVersionAttribute>().Single();
            Assert.AreEqual(LoopaiClient.ClientVersion, informational.InformationalVersion);
            Assert.AreEqual(LoopaiClient.ClientVersion + ".0", assembly.GetName().Version.ToString());
        }
    }
}
