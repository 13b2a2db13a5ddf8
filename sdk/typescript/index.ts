// The package entry: `import Airmy from '<repo>/sdk/typescript/index.ts'` (or, once installed with
// `npm install ./sdk/typescript`, `import Airmy from '@airmy/sdk'`).
export * from './src/index.ts';
export { default } from './src/index.ts';
