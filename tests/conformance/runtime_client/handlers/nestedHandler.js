/** Copyright 2019 Amazon.com, Inc. or its affiliates. All Rights Reserved. */

'use strict';

module.exports = {
  nested: {
    somethingComplex: {
      handler: async () => 'something interesting',
    },
  },
};
