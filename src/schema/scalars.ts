import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import { GraphQLUpload } from 'graphql-upload-ts';
import { builder } from './builder.js';

builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('Upload', GraphQLUpload);
