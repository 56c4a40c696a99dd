/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 30000,
  // chokidar 5 and readdirp are ES modules; Node runs them through require(), jest needs them compiled
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true } }] },
  transformIgnorePatterns: ['/node_modules/(?!(chokidar|readdirp)/)'],
  globalSetup: '<rootDir>/test/global-setup.js',
};
